using Npgsql;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// A second real registry process for the client tests, on the production data plane: PostgreSQL
/// metadata and S3 blobs (Ceph RGW), in a database and a bucket of its own. Started only when the
/// end-to-end clients and both servers are there.
/// </summary>
public sealed class PostgreSqlS3ServerFixture : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "registry-e2e-pg-s3", Guid.NewGuid().ToString("N"));
    private readonly string _database = "registry_e2e_" + Guid.NewGuid().ToString("N");
    private readonly string _bucket = S3TestServer.NewBucketName();

    private ServerProcess? Server { get; set; }

    private static bool Enabled => EndToEndFixture.Enabled && PostgreSqlTestServer.Available && S3TestServer.Available;

    /// <summary>The server, for a test class's constructor: skips the class's tests when it cannot run here.</summary>
    public ServerProcess Require()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        PostgreSqlTestServer.SkipUnlessAvailable();
        S3TestServer.SkipUnlessAvailable();
        return Server!;
    }

    public async Task InitializeAsync()
    {
        if (!Enabled)
        {
            return;
        }

        Server = new ServerProcess(Path.Combine(_root, "data"));
        Server.Environment["REGISTRY_Database__Type"] = "postgresql";
        Server.Environment["REGISTRY_Database__ConnectionString"] = await PostgreSqlTestServer.CreateDatabaseAsync(_database);
        Server.Environment["REGISTRY_Storage__Type"] = "s3";
        Server.Environment["REGISTRY_Storage__S3__ServiceUrl"] = S3TestServer.Url!;
        Server.Environment["REGISTRY_Storage__S3__AccessKey"] = S3TestServer.AccessKey!;
        Server.Environment["REGISTRY_Storage__S3__SecretKey"] = S3TestServer.SecretKey!;
        Server.Environment["REGISTRY_Storage__S3__Bucket"] = _bucket;
        Server.Environment["REGISTRY_Storage__S3__CreateBucket"] = "true";
        await Server.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (Server is null)
        {
            return;
        }

        await Server.DisposeAsync();
        NpgsqlConnection.ClearAllPools();
        await PostgreSqlTestServer.DropDatabaseAsync(_database);
        await S3TestServer.DeleteBucketAsync(_bucket);
        Directory.Delete(_root, recursive: true);
    }
}
