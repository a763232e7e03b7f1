FROM node:20-slim
RUN --mount=type=secret,id=t,env=NPM_TOKEN \
    echo "//registry.example.invalid/:_authToken=$NPM_TOKEN" > ~/.npmrc && npm ci && rm -f /root/.npmrc
# expect: none
