using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Npgsql;
using Registry.Hosting;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary>The <c>registry</c> executable's commands, run as users run them.</summary>
public sealed class CommandLineTests : IDisposable
{
    private readonly string _data = Path.Combine(Path.GetTempPath(), "registry-cli-tests", Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Serve_with_an_unreachable_postgresql_exits_1_naming_it_without_the_password()
    {
        var port = ClosedPort();
        var result = await RegistryAsync(["serve", "--urls", $"http://127.0.0.1:{ClosedPort()}", "--data", _data], new()
        {
            ["REGISTRY_Database__Type"] = "postgresql",
            ["REGISTRY_Database__ConnectionString"] = $"Host=127.0.0.1;Port={port};Database=metadata;Username=registry;Password=s3cret-pw;Timeout=3",
        });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"PostgreSQL at 127.0.0.1:{port}, database 'metadata'", result.Error);
        Assert.DoesNotContain("s3cret-pw", result.Error + result.Output);
    }

    [Fact]
    public async Task Serve_with_an_unreachable_s3_exits_1_naming_the_bucket_and_endpoint()
    {
        var port = ClosedPort();
        var result = await RegistryAsync(["serve", "--urls", $"http://127.0.0.1:{ClosedPort()}", "--data", _data], new()
        {
            ["REGISTRY_Storage__Type"] = "s3",
            ["REGISTRY_Storage__S3__ServiceUrl"] = $"http://127.0.0.1:{port}",
            ["REGISTRY_Storage__S3__Bucket"] = "layers",
            ["REGISTRY_Storage__S3__AccessKey"] = "key",
            ["REGISTRY_Storage__S3__SecretKey"] = "s3cret-key",
        });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"cannot use the blob store (S3 bucket 'layers' at http://127.0.0.1:{port})", result.Error);
        Assert.DoesNotContain("s3cret-key", result.Error + result.Output);
    }

    [Fact]
    public async Task Serve_with_an_unreachable_azure_account_exits_1_naming_the_container()
    {
        var port = ClosedPort();
        var result = await RegistryAsync(["serve", "--urls", $"http://127.0.0.1:{ClosedPort()}", "--data", _data], new()
        {
            ["REGISTRY_Storage__Type"] = "azure",
            ["REGISTRY_Storage__Azure__ConnectionString"] = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;",
            ["REGISTRY_Storage__Azure__Container"] = "layers",
        });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"cannot use the blob store (Azure Blob container 'layers' at http://127.0.0.1:{port})", result.Error);
    }

    [Fact]
    public async Task Serve_with_master_keys_in_an_unreachable_kms_exits_1_naming_it()
    {
        var port = ClosedPort();
        var result = await RegistryAsync(["serve", "--urls", $"http://127.0.0.1:{ClosedPort()}", "--data", _data], new()
        {
            ["REGISTRY_Encryption__Enabled"] = "true",
            ["REGISTRY_Encryption__KmsKeyId"] = "alias/registry-master",
            ["REGISTRY_Encryption__KmsServiceUrl"] = $"http://127.0.0.1:{port}",
            ["AWS_ACCESS_KEY_ID"] = "AKIAEXAMPLEEXAMPLE00",
            ["AWS_SECRET_ACCESS_KEY"] = "not-a-real-secret-not-a-real-secret-0000",
        });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"AWS KMS at http://127.0.0.1:{port}", result.Error, StringComparison.Ordinal);
        Assert.Contains("alias/registry-master", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_data, "master-keys")));
    }

    [Fact]
    public async Task An_unknown_database_type_exits_1_with_the_setting_named()
    {
        var result = await RegistryAsync(["serve", "--data", _data], new() { ["REGISTRY_Database__Type"] = "oracle" });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Database:Type 'oracle' is unknown", result.Error);
    }

    [Fact]
    public async Task Postgresql_without_a_connection_string_exits_1()
    {
        var result = await RegistryAsync(["migrate", "--data", _data], new() { ["REGISTRY_Database__Type"] = "postgresql" });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Database:ConnectionString", result.Error);
    }

    [Fact]
    public async Task An_https_address_without_a_certificate_exits_1()
    {
        var result = await RegistryAsync(["serve", "--urls", $"https://127.0.0.1:{ClosedPort()}", "--data", _data], []);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("Tls:CertificatePath", result.Error);
    }

    [Fact]
    public async Task A_missing_certificate_file_exits_1_naming_it()
    {
        var missing = Path.Combine(_data, "missing.crt");
        var result = await RegistryAsync(["serve", "--urls", $"https://127.0.0.1:{ClosedPort()}", "--data", _data], new()
        {
            ["REGISTRY_Tls__CertificatePath"] = missing,
            ["REGISTRY_Tls__KeyPath"] = Path.Combine(_data, "missing.key"),
        });

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"cannot load the TLS certificate '{missing}'", result.Error);
    }

    [Theory]
    [InlineData("REGISTRY_Database__Type=postgresql", "REGISTRY_Database__ConnectionString=not a connection string", "Database:")]
    [InlineData("REGISTRY_Storage__Type=s3", "REGISTRY_Storage__S3__PieceSize=1000", "Storage:S3:")]
    [InlineData("REGISTRY_Storage__Type=azure", "REGISTRY_Storage__Azure__ConnectionString=not a connection string", "Storage:Azure:")]
    public async Task A_malformed_backend_setting_exits_1_in_one_line_naming_its_section(string type, string setting, string section)
    {
        var environment = new Dictionary<string, string> { ["REGISTRY_Storage__S3__Bucket"] = "b", ["REGISTRY_Storage__Azure__Container"] = "c" };
        foreach (var pair in new[] { type, setting })
        {
            environment[pair[..pair.IndexOf('=', StringComparison.Ordinal)]] = pair[(pair.IndexOf('=', StringComparison.Ordinal) + 1)..];
        }

        var result = await RegistryAsync(["migrate", "--data", _data], environment);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("registry: invalid configuration:", result.Error, StringComparison.Ordinal);
        Assert.Contains(section, result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Migrate_creates_the_sqlite_database_and_exits()
    {
        var result = await RegistryAsync(["migrate", "--data", _data], []);

        Assert.Equal(0, result.ExitCode);
        Assert.True(File.Exists(Path.Combine(_data, "registry.db")));
    }

    [SkippableFact]
    public async Task Migrate_brings_an_empty_postgresql_database_up_to_date()
    {
        PostgreSqlTestServer.SkipUnlessAvailable();
        var database = "registry_migrate_" + Guid.NewGuid().ToString("N");
        var connectionString = await PostgreSqlTestServer.CreateDatabaseAsync(database);
        try
        {
            var environment = new Dictionary<string, string> { ["REGISTRY_Database__Type"] = "postgresql", ["REGISTRY_Database__ConnectionString"] = connectionString };
            (await RegistryAsync(["migrate", "--data", _data], environment)).EnsureSuccess("registry migrate");
            (await RegistryAsync(["migrate", "--data", _data], environment)).EnsureSuccess("registry migrate, again");

            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("""SELECT count(*) FROM "__EFMigrationsHistory" """, connection);
            Assert.True((long)(await command.ExecuteScalarAsync())! >= 1);
            await using var tables = new NpgsqlCommand("""SELECT count(*) FROM information_schema.tables WHERE table_name IN ('Repositories', 'Manifests', 'Tags', 'UploadSessions')""", connection);
            Assert.Equal(4L, await tables.ExecuteScalarAsync());
        }
        finally
        {
            NpgsqlConnection.ClearAllPools();
            await PostgreSqlTestServer.DropDatabaseAsync(database);
        }
    }

    [Fact]
    public async Task Gc_dry_run_lists_what_gc_then_removes()
    {
        string orphan;
        string image;
        await using (var app = await InProcessRegistryAsync())
        {
            using var client = app.GetTestClient();
            client.DefaultRequestHeaders.Authorization = RegistryFixture.Basic("admin", RegistryFixture.AdminPassword);
            orphan = await client.PushBlobAsync("cli/gc", OciTestClient.RandomBytes(300));
            (_, image) = await client.PushImageAsync("cli/gc", "v1");
            await app.StopAsync();
        }

        var noGrace = new Dictionary<string, string> { ["REGISTRY_GarbageCollection__GracePeriod"] = "00:00:00" };
        var blobFile = Path.Combine(_data, "blobs", "sha256", orphan[7..9], orphan[7..]);

        var dry = (await RegistryAsync(["gc", "--dry-run", "--data", _data], noGrace)).EnsureSuccess("registry gc --dry-run");
        Assert.Contains($"blob {orphan} 300", dry.Output, StringComparison.Ordinal);
        Assert.Contains("would remove 0 manifests, 1 blobs (300 bytes), 0 stale links", dry.Output, StringComparison.Ordinal);
        Assert.True(File.Exists(blobFile));

        var run = (await RegistryAsync(["gc", "--data", _data], noGrace)).EnsureSuccess("registry gc");
        Assert.Contains($"blob {orphan} 300", run.Output, StringComparison.Ordinal);
        Assert.Contains("removed 0 manifests, 1 blobs (300 bytes), 0 stale links", run.Output, StringComparison.Ordinal);
        Assert.Contains("storage used:", run.Output, StringComparison.Ordinal);
        Assert.False(File.Exists(blobFile));

        var again = (await RegistryAsync(["gc", "--dry-run", "--data", _data], noGrace)).EnsureSuccess("registry gc --dry-run, again");
        Assert.Contains("would remove 0 manifests, 0 blobs (0 bytes), 0 stale links", again.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(image, again.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Admin_commands_manage_users_policies_and_keys_and_name_what_is_wrong()
    {
        (await RegistryAsync(["admin", "create-user", "ci", "--password", "ci-password-1", "--data", _data], [])).EnsureSuccess("registry admin create-user");
        (await RegistryAsync(["admin", "create-group", "builders", "--data", _data], [])).EnsureSuccess("registry admin create-group");
        (await RegistryAsync(["admin", "add-user-to-group", "builders", "ci", "--data", _data], [])).EnsureSuccess("registry admin add-user-to-group");
        var document = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:*","Resource":"arn:aws:ecr:*:*:repository/ci/*"}]}""";
        (await RegistryAsync(["admin", "create-policy", "ci-push", "--document", document, "--data", _data], [])).EnsureSuccess("registry admin create-policy");
        (await RegistryAsync(["admin", "attach-policy", "ci-push", "--group", "builders", "--data", _data], [])).EnsureSuccess("registry admin attach-policy");

        var key = (await RegistryAsync(["admin", "create-access-key", "ci", "--data", _data], [])).EnsureSuccess("registry admin create-access-key");
        var users = (await RegistryAsync(["admin", "list-users", "--data", _data], [])).EnsureSuccess("registry admin list-users");
        var policy = (await RegistryAsync(["admin", "get-policy", "ci-push", "--data", _data], [])).EnsureSuccess("registry admin get-policy");
        var malformed = await RegistryAsync(["admin", "create-policy", "broken", "--document", """{"Statement":[{"Effect":"Permit","Action":"ecr:*","Resource":"*"}]}""", "--data", _data], []);
        var unknown = await RegistryAsync(["admin", "attach-policy", "no-such-policy", "--user", "ci", "--data", _data], []);
        var ambiguous = await RegistryAsync(["admin", "attach-policy", "ci-push", "--user", "ci", "--group", "builders", "--data", _data], []);

        Assert.Matches("^AKIA[A-Z2-7]{16} [A-Za-z0-9+/]{40}$", key.Output.Trim());
        Assert.Contains("ci", users.Output.Split('\n', StringSplitOptions.TrimEntries));
        Assert.Equal(document, policy.Output.Trim());
        Assert.Equal(1, malformed.ExitCode);
        Assert.Equal("registry: MalformedPolicyDocument: Statement[0].Effect: must be \"Allow\" or \"Deny\", not \"Permit\"", malformed.Error.Trim());
        Assert.Equal(1, unknown.ExitCode);
        Assert.StartsWith("registry: NoSuchEntity: policy no-such-policy", unknown.Error.Trim(), StringComparison.Ordinal);
        Assert.Equal(1, ambiguous.ExitCode);
        Assert.Contains("exactly one of --user, --group or --role", ambiguous.Error, StringComparison.Ordinal);
    }

    /// <summary>The registry in process over this test's data folder, for putting content there before a command runs on it.</summary>
    private async Task<WebApplication> InProcessRegistryAsync()
    {
        var builder = RegistryApp.CreateBuilder(new Dictionary<string, string?>
        {
            ["Registry:DataPath"] = _data,
            ["Auth:AdminPassword"] = RegistryFixture.AdminPassword,
            ["GarbageCollection:Enabled"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
        });
        builder.WebHost.UseTestServer();
        var app = RegistryApp.Build(builder);
        await app.StartAsync();
        return app;
    }

    public void Dispose()
    {
        if (Directory.Exists(_data))
        {
            Directory.Delete(_data, recursive: true);
        }
    }

    private static Task<Cli.Result> RegistryAsync(string[] arguments, Dictionary<string, string> environment) =>
        Cli.RunAsync("dotnet", [Path.Combine(AppContext.BaseDirectory, "registry.dll"), .. arguments], timeout: TimeSpan.FromMinutes(1), environment: environment);

    /// <summary>A loopback port nothing listens on (bound, then released).</summary>
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
