FROM node:20-slim
ARG NPM_TOKEN
RUN set -eux; \
    # write the registry credentials
    echo "//registry.example.invalid/:_authToken=$NPM_TOKEN" \

      > /root/.npmrc; \
    npm ci
# expect: dockerfile-secret-arg-env@2 dockerfile-secret-in-file@7
