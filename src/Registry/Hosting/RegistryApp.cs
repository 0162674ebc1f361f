using Registry.Accounting;
using Registry.Auth;
using Registry.AwsApi;
using Registry.Distribution;
using Registry.Iam;
using Registry.Observability;
using Prometheus;
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
        ConfigureLogging(builder);
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
        app.UseMiddleware<RequestTelemetryMiddleware>();
        app.UseBackendFaults();
        app.UseAuthentication();
        app.MapDistributionApi();
        app.MapTokenEndpoint();
        app.MapStorageUsage();
        app.MapAdminApi();
        app.MapAwsJsonApi();
        app.MapHealth();
        if (app.Configuration.GetValue("Metrics:Enabled", true))
        {
            var metrics = app.Services.GetRequiredService<RegistryMetrics>();
            var gauges = app.Services.GetRequiredService<StateGauges>();
            metrics.Registry.AddBeforeCollectCallback(gauges.RefreshAsync);
            var endpoint = app.MapMetrics("/metrics", metrics.Registry);
            // On a port of its own (listened on through --urls), /metrics is not served where the registry is
            // published (an Ingress, a load balancer): its labels name repositories.
            if (app.Configuration.GetValue<int?>("Metrics:Port") is { } port)
            {
                endpoint.RequireHost($"*:{port}");
            }
        }

        return app;
    }

    /// <summary>
    /// Logs go to stdout as JSON lines (<c>Logging:Format</c> <c>json</c>, the default) with the request's
    /// scope (request id, path), or as text (<c>text</c>) for a person at a terminal.
    /// </summary>
    private static void ConfigureLogging(WebApplicationBuilder builder)
    {
        builder.Logging.ClearProviders();
        if (string.Equals(builder.Configuration["Logging:Format"], "text", StringComparison.OrdinalIgnoreCase))
        {
            builder.Logging.AddSimpleConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ");
            return;
        }

        builder.Logging.AddJsonConsole(o =>
        {
            o.IncludeScopes = true;
            o.UseUtcTimestamp = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
        });
    }
}
