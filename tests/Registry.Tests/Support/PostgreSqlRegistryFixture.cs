namespace Registry.Tests.Support;

/// <summary>
/// The in-process registry over PostgreSQL, in a database of its own on the test server, dropped
/// afterwards. Without a test server the tests that use it are skipped.
/// </summary>
public class PostgreSqlRegistryFixture : RegistryFixture
{
    private readonly string _database = "registry_" + Guid.NewGuid().ToString("N");

    /// <summary>This fixture, for a test class's constructor: skips the class's tests when no server is configured.</summary>
    public RegistryFixture Require()
    {
        PostgreSqlTestServer.SkipUnlessAvailable();
        return this;
    }

    public override Task InitializeAsync() => PostgreSqlTestServer.Available ? base.InitializeAsync() : Task.CompletedTask;

    public override Task DisposeAsync() => PostgreSqlTestServer.Available ? base.DisposeAsync() : Task.CompletedTask;

    protected override async Task ConfigureDatabaseAsync(Dictionary<string, string?> settings)
    {
        settings["Database:Type"] = "postgresql";
        settings["Database:ConnectionString"] = await PostgreSqlTestServer.CreateDatabaseAsync(_database);
    }

    protected override Task DropDatabaseAsync() => PostgreSqlTestServer.DropDatabaseAsync(_database);
}
