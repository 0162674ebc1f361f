using System.Net;
using System.Text.Json;
using Npgsql;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary>
/// <c>/readyz</c> follows the metadata database: the registry reaches PostgreSQL through a proxy the
/// test takes down, and readiness turns false (503, the database named) and true again when it returns,
/// while <c>/healthz</c> stays true throughout (the process is fine; it must not be restarted for it).
/// </summary>
public sealed class ReadinessTests : IAsyncLifetime
{
    private readonly string _database = "registry_" + Guid.NewGuid().ToString("N");
    private TcpFaultProxy? Proxy { get; set; }

    private ProxiedRegistry? Registry { get; set; }

    public async Task InitializeAsync()
    {
        if (!PostgreSqlTestServer.Available)
        {
            return;
        }

        var connection = new NpgsqlConnectionStringBuilder(await PostgreSqlTestServer.CreateDatabaseAsync(_database));
        Proxy = new TcpFaultProxy(connection.Host!, connection.Port);
        connection.Host = "127.0.0.1";
        connection.Port = Proxy.Port;
        connection.Timeout = 3;
        Registry = new ProxiedRegistry(connection.ConnectionString);
        await Registry.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        if (Registry is not null)
        {
            Proxy!.Up();
            await Registry.DisposeAsync();
            await Proxy.DisposeAsync();
            await PostgreSqlTestServer.DropDatabaseAsync(_database);
        }
    }

    [SkippableFact]
    public async Task Readiness_turns_false_when_the_database_stops_and_true_when_it_returns()
    {
        PostgreSqlTestServer.SkipUnlessAvailable();
        var client = Registry!.CreateAnonymousClient();
        Assert.Equal("ok", (await ReadyAsync(client, HttpStatusCode.OK)).GetProperty("database").GetString());

        Proxy!.Down();
        var down = await ReadyAsync(client, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("not ready", down.GetProperty("status").GetString());
        Assert.NotEqual("ok", down.GetProperty("database").GetString());
        Assert.Equal("ok", down.GetProperty("blobStore").GetString());
        using (var live = await client.GetAsync("/healthz"))
        {
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        Proxy.Up();
        Assert.Equal("ready", (await ReadyAsync(client, HttpStatusCode.OK)).GetProperty("status").GetString());
    }

    /// <summary>Polls /readyz until it answers <paramref name="expected"/> (connections in the pool notice a cut on their next use).</summary>
    private static async Task<JsonElement> ReadyAsync(HttpClient client, HttpStatusCode expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await client.GetAsync("/readyz");
            var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
            if (response.StatusCode == expected)
            {
                return body;
            }

            Assert.True(DateTime.UtcNow < deadline, $"/readyz stayed {(int)response.StatusCode}: {body}");
            await Task.Delay(200);
        }
    }

    private sealed class ProxiedRegistry : RegistryFixture
    {
        public ProxiedRegistry(string connectionString)
        {
            Settings["Database:Type"] = "postgresql";
            Settings["Database:ConnectionString"] = connectionString;
        }
    }
}
