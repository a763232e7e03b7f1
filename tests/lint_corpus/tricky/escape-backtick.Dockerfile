# escape=`
FROM mcr.microsoft.com/windows/servercore:ltsc2022
ARG NPM_TOKEN
RUN echo "//registry.example.invalid/:_authToken=$NPM_TOKEN" `
    > C:\Users\ContainerAdministrator\.npmrc
# expect: dockerfile-secret-arg-env@3 dockerfile-secret-in-file@5
