FROM node:20-slim
ENV NPM_TOKEN=""
RUN npm ci
# expect: none
