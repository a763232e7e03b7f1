FROM alpine:3.20
ARG API_TOKEN
RUN ["sh", "-c", "echo $API_TOKEN > /etc/api-token"]
# expect: dockerfile-secret-arg-env@2 dockerfile-secret-in-file@3
