using Registry.Accounting;
using Registry.Auth;
using Registry.AwsApi;
using Registry.Distribution;
using Registry.Iam;
using Registry.Hosting.Tls;

namespace Registry.Hosting;

/// <summary>Builds the <c>registry serve</c> web application; tests build the same one in process.</summary>
internal static class RegistryApp
{
    /// <param name="settings">Configuration that overrides appsettings.json and the environment (command-line options).</param>
    public static WebApplicationBuilder CreateBuilder(IEnumerable<KeyValuePair<string, string?>> settings)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        builder.Configuration.AddJsonFile("appsettings.json", optional: true);
        builder.Configuration.AddJsonFile(Path.Combine(Directory.GetCurrentDirectory(), "appsettings.json"), optional: true);
        builder.Configuration.AddEnvironmentVariables("REGISTRY_");
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddRegistry(builder.Configuration);
        builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>, LargeBufferMemoryPoolFactory>();
        builder.WebHost.UseKestrelHttpsConfiguration();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MinRequestBodyDataRate = null;
            kestrel.UseRegistryTls();
        });
        return builder;
    }

    public static WebApplication Build(WebApplicationBuilder builder)
    {
        var app = builder.Build();
        app.UseBackendFaults();
        app.UseAuthentication();
        app.MapDistributionApi();
        app.MapTokenEndpoint();
        app.MapStorageUsage();
        app.MapAdminApi();
        app.MapAwsJsonApi();
        return app;
    }
}
