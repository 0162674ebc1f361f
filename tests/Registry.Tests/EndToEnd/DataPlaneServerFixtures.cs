using Npgsql;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// A further real registry process for the client tests, on a production data plane: PostgreSQL
/// metadata (a database of its own) and an object store (subclasses). Started only when the
/// end-to-end clients and the servers are there.
/// </summary>
public abstract class DataPlaneServerFixture : IAsyncLifetime
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "registry-e2e-data-plane", Guid.NewGuid().ToString("N"));
    private readonly string _database = "registry_e2e_" + Guid.NewGuid().ToString("N");

    private ServerProcess? Server { get; set; }

    protected abstract bool StoreAvailable { get; }

    protected abstract void SkipUnlessStoreAvailable();

    /// <summary>Points <paramref name="server"/> at a fresh bucket or container.</summary>
    protected abstract void ConfigureStore(ServerProcess server);

    protected abstract Task DeleteStoreAsync();

    /// <summary>The server, for a test class's constructor: skips the class's tests when it cannot run here.</summary>
    public ServerProcess Require()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        PostgreSqlTestServer.SkipUnlessAvailable();
        SkipUnlessStoreAvailable();
        return Server!;
    }

    public async Task InitializeAsync()
    {
        if (!EndToEndFixture.Enabled || !PostgreSqlTestServer.Available || !StoreAvailable)
        {
            return;
        }

        Server = new ServerProcess(Path.Combine(_root, "data"));
        Server.Environment["REGISTRY_Database__Type"] = "postgresql";
        Server.Environment["REGISTRY_Database__ConnectionString"] = await PostgreSqlTestServer.CreateDatabaseAsync(_database);
        ConfigureStore(Server);
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
        await DeleteStoreAsync();
        Directory.Delete(_root, recursive: true);
    }
}

/// <summary>PostgreSQL + S3 (Ceph RGW).</summary>
public sealed class PostgreSqlS3ServerFixture : DataPlaneServerFixture
{
    private readonly string _bucket = S3TestServer.NewBucketName();

    protected override bool StoreAvailable => S3TestServer.Available;

    protected override void SkipUnlessStoreAvailable() => S3TestServer.SkipUnlessAvailable();

    protected override void ConfigureStore(ServerProcess server) => S3TestServer.Configure(server, _bucket);

    protected override Task DeleteStoreAsync() => S3TestServer.DeleteBucketAsync(_bucket);
}

/// <summary>PostgreSQL + Azure Blob Storage (Azurite).</summary>
public sealed class PostgreSqlAzureServerFixture : DataPlaneServerFixture
{
    private readonly string _container = AzureTestServer.NewContainerName();

    protected override bool StoreAvailable => AzureTestServer.Available;

    protected override void SkipUnlessStoreAvailable() => AzureTestServer.SkipUnlessAvailable();

    protected override void ConfigureStore(ServerProcess server)
    {
        server.Environment["REGISTRY_Storage__Type"] = "azure";
        server.Environment["REGISTRY_Storage__Azure__ConnectionString"] = AzureTestServer.ConnectionString!;
        server.Environment["REGISTRY_Storage__Azure__Container"] = _container;
        server.Environment["REGISTRY_Storage__Azure__CreateContainer"] = "true";
    }

    protected override Task DeleteStoreAsync() => AzureTestServer.DeleteContainerAsync(_container);
}
