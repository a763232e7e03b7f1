FROM postgres:16
ENV POSTGRES_PASSWORD=changeme
# expect: dockerfile-secret-arg-env@2
