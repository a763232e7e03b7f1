FROM node:20-slim
ARG NPM_TOKEN
WORKDIR /app
RUN echo "//registry.example.invalid/:_authToken=$NPM_TOKEN" > .npmrc
RUN npm ci
RUN rm -f .npmrc
# expect: dockerfile-secret-arg-env@2 dockerfile-secret-in-file@4
