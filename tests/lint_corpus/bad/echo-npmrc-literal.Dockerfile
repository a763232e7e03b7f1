FROM node:20-slim
RUN echo "//registry.example.invalid/:_authToken=npm_{alnum:36}" > /root/.npmrc && npm ci
# expect: dockerfile-literal-secret@2
