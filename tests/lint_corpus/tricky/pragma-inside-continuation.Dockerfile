FROM node:20-slim
RUN --mount=type=secret,id=t,env=NPM_TOKEN \
    # hubguard: ignore=dockerfile-secret-in-file the image is only used in this CI job
    echo "//registry.example.invalid/:_authToken=$NPM_TOKEN" > /root/.npmrc && npm ci
# expect: none
