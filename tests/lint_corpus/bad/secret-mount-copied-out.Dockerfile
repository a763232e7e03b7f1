FROM node:20-slim
RUN --mount=type=secret,id=npmrc,target=/run/secrets/npmrc cp /run/secrets/npmrc /root/.npmrc && npm ci
# expect: dockerfile-secret-in-file@2
