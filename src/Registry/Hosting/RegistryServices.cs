using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using Registry.Accounting;
using Registry.Audit;
using Registry.Auth;
using Registry.AwsApi;
using Registry.Data;
using Registry.Data.PostgreSql;
using Registry.Data.Sqlite;
using Registry.Distribution;
using Registry.Ecr;
using Registry.Ecr.Lifecycle;
using Registry.Ecs;
using Registry.GarbageCollection;
using Registry.Iam;
using Registry.Kubernetes;
using Registry.Observability;
using Registry.LoadBalancing;
using Registry.Hosting.Tls;
using Registry.Storage;
using Registry.Storage.AzureBlob;
using Registry.Storage.Encryption;
using Registry.Storage.FileSystem;
using Registry.Storage.Kms;
using Registry.Security.Secrets;
using Registry.Storage.S3;

namespace Registry.Hosting;

/// <summary>Wires the registry's parts together from configuration.</summary>
internal static class RegistryServices
{
    public static IServiceCollection AddRegistry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<RegistryOptions>().BindConfiguration(RegistryOptions.SectionName)
            .Validate(o => o.MaxManifestBytes > 0 && o.DefaultPageSize > 0 && o.MaxPageSize >= o.DefaultPageSize, "Registry: MaxManifestBytes and page sizes must be positive")
            .Validate(o => o.UploadSessionLifetime > TimeSpan.Zero, "Registry:UploadSessionLifetime must be positive")
            .ValidateOnStart();
        services.AddSingleton(TimeProvider.System);
        var metrics = RegistryMetrics.Create();
        services.AddSingleton(metrics);
        services.AddSingleton<StateGauges>();
        services.AddHostedService<NativeHeapTrimmer>();
        services.AddMetadataDatabase(configuration);
        services.AddBlobStore(configuration, metrics);
        services.AddDistribution();
        services.AddGarbageCollection(configuration);
        services.AddRegistryAuth(configuration);
        services.AddRegistryTls(configuration);
        return services;
    }

    private static void AddMetadataDatabase(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(DatabaseOptions.SectionName).Get<DatabaseOptions>() ?? new DatabaseOptions();
        var dataPath = DataPath(configuration);
        switch (options.Type.ToLowerInvariant())
        {
            case "sqlite":
                var path = options.Path is { Length: > 0 } p ? p : Path.Combine(dataPath, "registry.db");
                Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
                services.AddPooledDbContextFactory<RegistryDbContext>(db => db.UseRegistrySqlite(path));
                services.AddSingleton<ICommitDurability>(new SqliteWalFlush(path));
                services.AddSingleton<IRowLocks, SqliteRowLocks>();
                services.AddSingleton<IWriteGate, SqliteWriteTurns>();
                services.AddSingleton(new DatabaseDescription($"SQLite database '{Path.GetFullPath(path)}'"));
                break;
            case "postgresql" or "postgres":
                if (options.ConnectionString is not { Length: > 0 } connectionString)
                {
                    throw new OptionsValidationException(DatabaseOptions.SectionName, typeof(DatabaseOptions), ["Database:Type 'postgresql' needs Database:ConnectionString."]);
                }

                var description = Validated(DatabaseOptions.SectionName, () => PostgreSqlDatabase.Describe(connectionString));
                services.AddPooledDbContextFactory<RegistryDbContext>(db => db.UseRegistryPostgreSql(connectionString));
                services.AddSingleton<ICommitDurability, PostgreSqlCommits>();
                services.AddSingleton<IRowLocks, PostgreSqlRowLocks>();
                services.AddSingleton<IWriteGate, ConcurrentWrites>();
                services.AddSingleton(new DatabaseDescription(description));
                services.PostConfigure<RegistryOptions>(o => o.ManifestCacheSeconds ??= 0);
                break;
            default:
                throw new OptionsValidationException(DatabaseOptions.SectionName, typeof(DatabaseOptions), [$"Database:Type '{options.Type}' is unknown; use 'sqlite' or 'postgresql'."]);
        }

        // A request's queries share one open connection instead of opening and closing it per query.
        services.AddScoped(sp =>
        {
            var db = sp.GetRequiredService<IDbContextFactory<RegistryDbContext>>().CreateDbContext();
            db.Database.OpenConnection();
            return db;
        });
        services.AddSingleton<DatabaseMigrator>();
        if (options.MigrateOnStart)
        {
            services.AddHostedService(sp => sp.GetRequiredService<DatabaseMigrator>());
        }
    }

    private static void AddBlobStore(this IServiceCollection services, IConfiguration configuration, RegistryMetrics metrics)
    {
        var options = configuration.GetSection(StorageOptions.SectionName).Get<StorageOptions>() ?? new StorageOptions();
        IBlobStore store;
        switch (options.Type.ToLowerInvariant())
        {
            case "filesystem":
                store = CreateFileSystemBlobStore(configuration);
                break;
            case "s3":
                var s3 = services.AddS3BlobStore(configuration);
                store = new FaultTranslatingBlobStore(s3, s3.Description, S3BlobStore.IsUnavailable);
                break;
            case "azure":
                var azure = services.AddAzureBlobStore(configuration);
                store = new FaultTranslatingBlobStore(azure, azure.Description, AzureBlobStore.IsUnavailable);
                break;
            default:
                throw new OptionsValidationException(StorageOptions.SectionName, typeof(StorageOptions), [$"Storage:Type '{options.Type}' is unknown; use 'filesystem', 's3' or 'azure'."]);
        }

        services.AddSingleton(AddEncryption(new InstrumentedBlobStore(store, options.Type.ToLowerInvariant(), metrics), configuration));
    }

    /// <summary>With <c>Encryption:Enabled</c>, blobs are sealed at rest under a data key per blob, wrapped by the master key file.</summary>
    private static IBlobStore AddEncryption(IBlobStore store, IConfiguration configuration)
    {
        var options = configuration.GetSection(EncryptionOptions.SectionName).Get<EncryptionOptions>() ?? new EncryptionOptions();
        if (!options.Enabled)
        {
            return store;
        }

        var keyFile = options.KeyFile is { Length: > 0 } path ? path : Path.Combine(DataPath(configuration), "master-keys");
        if (options.KmsKeyId is { Length: > 0 } kmsKeyId)
        {
            return new EncryptingBlobStore(store, LoadKmsKeys(keyFile, kmsKeyId, options));
        }

        try
        {
            return new EncryptingBlobStore(store, new LocalKeyFile(keyFile));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StartupException($"cannot use the master key file '{Path.GetFullPath(keyFile)}': {e.Message}", e);
        }
    }


    /// <summary>Unwraps the KMS-kept master keys before anything is served; KMS out of reach or refusing fails the start in one line naming it.</summary>
    private static KmsWrappedKeyFile LoadKmsKeys(string keyFile, string kmsKeyId, EncryptionOptions options)
    {
        var kms = new AwsKmsClient(options.KmsServiceUrl, options.KmsRegion);
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            return KmsWrappedKeyFile.LoadAsync(keyFile, kms, kmsKeyId, timeout.Token).GetAwaiter().GetResult();
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            throw new StartupException($"cannot use the master keys in '{Path.GetFullPath(keyFile)}' through {kms.Description} (key {kmsKeyId}): {e.Message}", e);
        }
    }

    private static FileSystemBlobStore CreateFileSystemBlobStore(IConfiguration configuration)
    {
        var options = configuration.GetSection(FileSystemBlobStoreOptions.SectionName).Get<FileSystemBlobStoreOptions>() ?? new FileSystemBlobStoreOptions();
        if (string.IsNullOrWhiteSpace(options.RootPath))
        {
            options.RootPath = DataPath(configuration);
        }

        return new FileSystemBlobStore(options);
    }

    private static S3BlobStore AddS3BlobStore(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(S3BlobStoreOptions.SectionName).Get<S3BlobStoreOptions>() ?? new S3BlobStoreOptions();
        if (string.IsNullOrWhiteSpace(options.Bucket))
        {
            throw new OptionsValidationException(S3BlobStoreOptions.SectionName, typeof(S3BlobStoreOptions), ["Storage:Type 's3' needs Storage:S3:Bucket."]);
        }

        var store = Validated(S3BlobStoreOptions.SectionName, () => new S3BlobStore(options));
        services.AddHostedService(sp => new BlobStoreStartupCheck(store.Description, cancellationToken => store.EnsureBucketAsync(options.CreateBucket, cancellationToken)));
        return store;
    }

    private static AzureBlobStore AddAzureBlobStore(this IServiceCollection services, IConfiguration configuration)
    {
        var options = configuration.GetSection(AzureBlobStoreOptions.SectionName).Get<AzureBlobStoreOptions>() ?? new AzureBlobStoreOptions();
        if (string.IsNullOrWhiteSpace(options.ConnectionString) || string.IsNullOrWhiteSpace(options.Container))
        {
            throw new OptionsValidationException(AzureBlobStoreOptions.SectionName, typeof(AzureBlobStoreOptions), ["Storage:Type 'azure' needs Storage:Azure:ConnectionString and Storage:Azure:Container."]);
        }

        var store = Validated(AzureBlobStoreOptions.SectionName, () => new AzureBlobStore(options));
        services.AddHostedService(sp => new BlobStoreStartupCheck(store.Description, cancellationToken => store.EnsureContainerAsync(options.CreateContainer, cancellationToken)));
        return store;
    }

    private static void AddDistribution(this IServiceCollection services)
    {
        services.AddSingleton<UploadHashCache>();
        services.AddSingleton<ManifestCache>();
        services.AddScoped<RepositoryStore>();
        services.AddScoped<BlobIndex>();
        services.AddScoped<UploadService>();
        services.AddScoped<ManifestService>();
        services.AddScoped<ListingService>();
        services.AddSingleton<UploadJanitor>();
        services.AddHostedService(sp => sp.GetRequiredService<UploadJanitor>());
    }

    private static void AddGarbageCollection(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<GarbageCollectionOptions>().BindConfiguration(GarbageCollectionOptions.SectionName)
            .Validate(o => o.Interval > TimeSpan.Zero, "GarbageCollection:Interval must be positive")
            .Validate(o => o.GracePeriod >= TimeSpan.Zero, "GarbageCollection:GracePeriod must not be negative")
            .ValidateOnStart();
        services.AddSingleton<GarbageCollector>();
        services.AddSingleton<Integrity.IntegrityCheck>();
        services.AddScoped<StorageUsage>();
        if (configuration.GetSection(GarbageCollectionOptions.SectionName).Get<GarbageCollectionOptions>() is not { Enabled: false })
        {
            services.AddHostedService<GarbageCollectionService>();
        }
    }

    private static void AddRegistryAuth(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuthOptions>().BindConfiguration(AuthOptions.SectionName)
            .Validate(o => o.TokenLifetime > TimeSpan.Zero, "Auth:TokenLifetime must be positive")
            .ValidateOnStart();
        var auth = configuration.GetSection(AuthOptions.SectionName).Get<AuthOptions>() ?? new AuthOptions();
        var signingKey = new SigningKey(auth.SigningKeyPath is { Length: > 0 } keyPath ? keyPath : Path.Combine(DataPath(configuration), "token-signing-key.pem"));
        services.AddSingleton(signingKey);
        services.AddSingleton<TokenIssuer>();
        services.AddSingleton<LoginTokens>();
        services.AddSingleton<PasswordSignIn>();
        services.AddSingleton<UserStore>();
        services.AddOptions<AwsOptions>().BindConfiguration(AwsOptions.SectionName)
            .Validate(o => o.AccountId.Length == 12 && o.AccountId.All(char.IsAsciiDigit), "Aws:AccountId must be 12 digits")
            .Validate(o => o.Region.Length > 0 && o.Region.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '-'), "Aws:Region must be a region name such as us-east-1")
            .ValidateOnStart();
        services.AddSingleton(new SecretSealer(auth.SecretsKeyPath is { Length: > 0 } secretsPath ? secretsPath : Path.Combine(DataPath(configuration), "secrets-key")));
        services.AddSingleton<PolicyStore>();
        services.AddSingleton<PolicyAuthorizer>();
        services.AddSingleton<IamService>();
        services.AddSingleton<RoleSessions>();
        services.AddSingleton<SigV4Authenticator>();
        services.AddSingleton<AuditLog>();
        services.AddSingleton<AuditQuery>();
        services.AddHostedService<AuditWriter>();
        services.AddSingleton<IAwsJsonService, EcrService>();
        services.AddSingleton<EcsService>();
        services.AddSingleton<IAwsJsonService>(sp => sp.GetRequiredService<EcsService>());
        services.AddOptions<SchedulerOptions>().BindConfiguration(SchedulerOptions.SectionName)
            .Validate(o => o.AgentTimeout >= TimeSpan.FromSeconds(3), "Scheduler:AgentTimeout must be at least 3 seconds")
            .ValidateOnStart();
        services.AddSingleton<AgentSignals>();
        services.AddSingleton<TaskLogs>();
        services.AddSingleton<AgentMonitor>();
        services.AddHostedService(sp => sp.GetRequiredService<AgentMonitor>());
        services.AddSingleton<ServiceScheduler>();
        services.AddHostedService(sp => sp.GetRequiredService<ServiceScheduler>());
        services.AddOptions<LoadBalancerOptions>().BindConfiguration(LoadBalancerOptions.SectionName).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LoadBalancerOptions>, TargetGroupsValidation>();
        services.AddSingleton(sp => TargetGroups.From(sp.GetRequiredService<IOptions<LoadBalancerOptions>>().Value));
        services.AddSingleton<TargetTable>();
        services.AddHostedService<TargetWatcher>();
        services.AddSingleton<LoadBalancerHost>();
        services.AddHostedService(sp => sp.GetRequiredService<LoadBalancerHost>());
        AddKubernetes(services, configuration);
        services.AddOptions<LifecycleOptions>().BindConfiguration(LifecycleOptions.SectionName)
            .Validate(o => o.Interval > TimeSpan.Zero, "Lifecycle:Interval must be positive")
            .ValidateOnStart();
        services.AddSingleton<LifecycleRunner>();
        if (configuration.GetSection(LifecycleOptions.SectionName).Get<LifecycleOptions>() is not { Enabled: false })
        {
            services.AddHostedService<LifecycleService>();
        }
        services.AddSingleton<RegistryAccess>();
        services.AddHostedService<AdminBootstrap>();

        // Authentication brings ASP.NET data protection, whose hosted service creates and persists a key
        // ring (under ~/.aspnet) at startup. Nothing here protects data (no cookies, no antiforgery), so
        // the registry does not write keys outside its data folder or load the XML stack for them.
        services.AddAuthentication(RegistryAccess.PolicyScheme)
            .AddPolicyScheme(RegistryAccess.PolicyScheme, "Bearer or Basic", policy =>
                policy.ForwardDefaultSelector = context =>
                    context.Request.Headers.Authorization.ToString().StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                        ? JwtBearerDefaults.AuthenticationScheme
                        : BasicAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BasicAuthenticationHandler>(BasicAuthenticationHandler.SchemeName, null)
            .AddJwtBearer(jwt =>
            {
                jwt.MapInboundClaims = false;
                jwt.TokenHandlers.Clear();
                jwt.TokenHandlers.Add(new CachingTokenHandler(TimeProvider.System));
                jwt.TokenValidationParameters = new TokenValidationParameters
                {
                    ValidIssuer = auth.Issuer,
                    ValidAudience = auth.Service,
                    IssuerSigningKey = signingKey.Key,
                    ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
                    ClockSkew = TimeSpan.FromSeconds(30),
                    NameClaimType = "sub",
                };
            });
        var keyRingPreload = services.FirstOrDefault(d => d.ImplementationType?.FullName == "Microsoft.AspNetCore.DataProtection.Internal.DataProtectionHostedService");
        if (keyRingPreload is not null)
        {
            services.Remove(keyRingPreload);
        }
    }

    /// <summary>Settings a backend's client rejects (a malformed connection string, a size below a minimum) are configuration errors, reported in one line.</summary>
    private static T Validated<T>(string section, Func<T> create)
    {
        try
        {
            return create();
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new OptionsValidationException(section, typeof(T), [$"{section}: {e.Message}"]);
        }
    }

    public static string DataPath(IConfiguration configuration) =>
        Path.GetFullPath(configuration[$"{RegistryOptions.SectionName}:{nameof(RegistryOptions.DataPath)}"] ?? "./data");

    /// <summary>
    /// The KUBERNETES launch type, only with a kubeconfig: its client and the launcher that keeps the
    /// cluster's Pods and Deployments in step with the tasks and services.
    /// </summary>
    private static void AddKubernetes(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KubernetesOptions>().BindConfiguration(KubernetesOptions.SectionName)
            .Validate(o => !o.Enabled || File.Exists(o.Kubeconfig), "Kubernetes:Kubeconfig names a file that does not exist")
            .Validate(o => o.ResyncInterval >= TimeSpan.FromSeconds(1), "Kubernetes:ResyncInterval must be at least 1 second")
            .Validate(o => System.Text.RegularExpressions.Regex.IsMatch(o.Installation, "^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"), "Kubernetes:Installation must be a Kubernetes label value (at most 63 letters, digits, '-', '_', '.')")
            .ValidateOnStart();
        if (configuration.GetSection(KubernetesOptions.SectionName).Get<KubernetesOptions>() is not { Enabled: true })
        {
            return;
        }

        services.AddKubernetesLauncher();
    }
}
