FROM node:20
ARG NPM_TOKEN
RUN echo "//registry.example.invalid/:_authToken=$NPM_TOKEN" > /root/.npmrc && npm ci
FROM node:20-slim
COPY --from=0 /root /root
# expect: dockerfile-secret-arg-env@2 dockerfile-stage-leak@5
