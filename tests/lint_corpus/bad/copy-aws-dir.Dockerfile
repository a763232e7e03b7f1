FROM amazon/aws-cli:2.17.0
COPY .aws /root/.aws
# context-file: .aws/credentials
# dockerignore: .git
# expect: dockerfile-credential-copy@2
