FROM alpine:3.20
ARG PASSWORD_MIN_LENGTH=12
ARG GPG_KEY=A035C8C19219BA821ECEA86B64E628F8D684696D
ENV TOKEN_URL=https://auth.example.invalid/oauth/token \
    PASSWORD_FILE=/run/secrets/db_password \
    NEXT_PUBLIC_API_KEY=pk_test_placeholder \
    SECRET_NAME=db-credentials
# expect: none
