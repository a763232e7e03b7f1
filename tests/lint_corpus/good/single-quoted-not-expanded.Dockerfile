FROM node:20-slim
RUN --mount=type=secret,id=t,env=NPM_TOKEN echo 'npm reads $NPM_TOKEN at run time' > /etc/motd && npm ci
# expect: none
