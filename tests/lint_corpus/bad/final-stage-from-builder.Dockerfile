FROM node:20 AS build
ARG NPM_TOKEN
WORKDIR /app
RUN echo "//registry.example.invalid/:_authToken=$NPM_TOKEN" > .npmrc && npm ci
FROM build AS final
CMD ["node", "server.js"]
# expect: dockerfile-secret-arg-env@2 dockerfile-secret-in-file@4
