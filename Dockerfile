# syntax=docker/dockerfile:1
# The registry's image: docker build -t registry .
# (Without a Docker engine: dotnet publish src/Registry -c Release /t:PublishContainer, see the README.)

FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
# Restore from the project files alone, so the package layer is reused until a dependency changes.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY src/Registry/Registry.csproj src/Registry/
COPY src/Registry.Agent/Registry.Agent.csproj src/Registry.Agent/
COPY src/Registry.Core/Registry.Core.csproj src/Registry.Core/
COPY src/Registry.Data/Registry.Data.csproj src/Registry.Data/
COPY src/Registry.Data.PostgreSql/Registry.Data.PostgreSql.csproj src/Registry.Data.PostgreSql/
COPY src/Registry.Data.Sqlite/Registry.Data.Sqlite.csproj src/Registry.Data.Sqlite/
COPY src/Registry.Kubernetes/Registry.Kubernetes.csproj src/Registry.Kubernetes/
COPY src/Registry.LoadBalancing/Registry.LoadBalancing.csproj src/Registry.LoadBalancing/
COPY src/Registry.Scheduler/Registry.Scheduler.csproj src/Registry.Scheduler/
COPY src/Registry.Security/Registry.Security.csproj src/Registry.Security/
COPY src/Registry.Storage/Registry.Storage.csproj src/Registry.Storage/
COPY src/Registry.Storage.AzureBlob/Registry.Storage.AzureBlob.csproj src/Registry.Storage.AzureBlob/
COPY src/Registry.Storage.Kms/Registry.Storage.Kms.csproj src/Registry.Storage.Kms/
COPY src/Registry.Storage.S3/Registry.Storage.S3.csproj src/Registry.Storage.S3/
RUN dotnet restore src/Registry/Registry.csproj
COPY src/ src/
RUN dotnet publish src/Registry/Registry.csproj -c Release --no-restore -o /app

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .
# The base image's non-root user (UID 1654) owns the data folder; nothing else is writable.
RUN mkdir /data && chown app:app /data
USER app
VOLUME /data
EXPOSE 5000
ENV DOTNET_NOLOGO=1
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s CMD ["/app/registry", "healthcheck"]
ENTRYPOINT ["/app/registry"]
CMD ["serve", "--urls", "http://0.0.0.0:5000", "--data", "/data"]
