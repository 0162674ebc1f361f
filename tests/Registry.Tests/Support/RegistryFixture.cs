using System.Net.Http.Headers;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Registry.Hosting;

namespace Registry.Tests.Support;

/// <summary>
/// The registry in process (the same application <c>registry serve</c> builds) over a fresh data
/// folder, with a known admin password, on the embedded SQLite database (subclasses choose another).
/// One per test class; tests use distinct repositories.
/// </summary>
public class RegistryFixture : IAsyncLifetime
{
    public const string AdminPassword = "test-admin-password";

    private WebApplication? _app;

    public string DataPath { get; } = Path.Combine(Path.GetTempPath(), "registry-tests", Guid.NewGuid().ToString("N"));

    /// <summary>Extra settings for subclasses of the default configuration.</summary>
    public Dictionary<string, string?> Settings { get; } = [];

    public virtual async Task InitializeAsync()
    {
        Environment.SetEnvironmentVariable("REGISTRY_ADMIN_PASSWORD", null);
        await ConfigureDatabaseAsync(Settings);
        var settings = new Dictionary<string, string?>(Settings)
        {
            ["Registry:DataPath"] = DataPath,
            ["Auth:AdminPassword"] = AdminPassword,
            ["Logging:LogLevel:Default"] = Environment.GetEnvironmentVariable("TEST_LOG_LEVEL") ?? "Warning",
        };
        var builder = RegistryApp.CreateBuilder(settings);
        ConfigureServices(builder.Services);
        builder.WebHost.UseTestServer();
        _app = RegistryApp.Build(builder);
        await _app.StartAsync();
    }

    /// <summary>Replaces services of the application (a controllable clock) after the registry's own.</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    /// <summary>Adds the settings of the metadata database to use; the default is SQLite in the data folder.</summary>
    protected virtual Task ConfigureDatabaseAsync(Dictionary<string, string?> settings) => Task.CompletedTask;

    /// <summary>Removes what <see cref="ConfigureDatabaseAsync"/> created, after the server has stopped.</summary>
    protected virtual Task DropDatabaseAsync() => Task.CompletedTask;

    public IServiceProvider Services => _app!.Services;

    /// <summary>A client that sends the admin's Basic credentials on every request.</summary>
    public HttpClient CreateClient()
    {
        var client = CreateAnonymousClient();
        client.DefaultRequestHeaders.Authorization = Basic("admin", AdminPassword);
        return client;
    }

    public HttpClient CreateAnonymousClient() => _app!.GetTestClient();

    /// <summary>The in-process server, for requests HttpClient would normalize (dot segments in paths).</summary>
    public TestServer Server => _app!.GetTestServer();

    public static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    public virtual async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }

        await DropDatabaseAsync();

        try
        {
            Directory.Delete(DataPath, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a leftover temp folder is harmless.
        }
    }
}
