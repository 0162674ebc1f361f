using System.CommandLine;
using Registry.Agent;
using Registry.Agent.Config;
using Registry.Auth;
using Registry.GarbageCollection;
using Registry.Hosting;
using Registry.Hosting.Tls;
using Registry.Iam;
using Registry.Integrity;

NativeHeap.LimitArenas(2);

var root = new RootCommand("A self-hosted OCI registry with ECR- and ECS-style APIs.");

var urls = new Option<string?>("--urls") { Description = "Addresses to listen on (default http://127.0.0.1:5000, or the 'urls' setting)." };
var data = new Option<string?>("--data") { Description = "Data folder: SQLite metadata, blobs and keys (default ./data)." };

var serve = new Command("serve", "Run the registry server.") { urls, data };
serve.SetAction((parse, cancellationToken) => RunAsync(parse, async builder =>
{
    var addresses = parse.GetValue(urls) ?? builder.Configuration["urls"] ?? "http://127.0.0.1:5000";
    KestrelTls.EnsureCertificateFor(addresses.Split(';', StringSplitOptions.RemoveEmptyEntries), builder.Configuration);
    builder.WebHost.UseUrls(addresses);
    ThreadPoolFloor.Raise();
    await using var app = RegistryApp.Build(builder);
    await app.RunAsync(cancellationToken);
}));
root.Subcommands.Add(serve);

var migrate = new Command("migrate", "Apply pending metadata database migrations, then exit.") { data };
migrate.SetAction((parse, cancellationToken) => RunAsync(parse, async builder =>
{
    await using var app = RegistryApp.Build(builder);
    await app.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync(cancellationToken);
    Console.WriteLine("metadata database is up to date");
}));
root.Subcommands.Add(migrate);

var dryRun = new Option<bool>("--dry-run") { Description = "List what would be removed; remove nothing." };
var gc = new Command("gc", "Collect garbage once: unreferenced blobs (and untagged manifests, if configured) past their grace period.") { data, dryRun };
gc.SetAction((parse, cancellationToken) => RunAsync(parse, async builder =>
{
    await using var app = RegistryApp.Build(builder);
    await GarbageCollectionCommand.RunAsync(app.Services, parse.GetValue(dryRun), Console.Out, cancellationToken);
}));
root.Subcommands.Add(gc);

var quarantine = new Option<bool>("--quarantine") { Description = "Move corrupt blobs aside (to <data>/quarantine) and remove them and missing ones from the registry, so the next push restores them." };
var check = new Command("check", "Verify every stored blob's digest and size; list the corrupt and missing ones (exit code 1 if any).") { data, quarantine };
check.SetAction((parse, cancellationToken) => RunAsync(parse, async builder =>
{
    await using var app = RegistryApp.Build(builder);
    if (await IntegrityCommand.RunAsync(app.Services, parse.GetValue(quarantine), Console.Out, cancellationToken) != 0)
    {
        throw new ProblemsFoundException();
    }
}));
root.Subcommands.Add(check);

root.Subcommands.Add(AdminCommands.Create(data, (parse, operation, cancellationToken) => RunAsync(parse, async builder =>
{
    await using var app = RegistryApp.Build(builder);
    await app.Services.GetRequiredService<DatabaseMigrator>().MigrateAsync(cancellationToken);
    await app.Services.GetRequiredService<IamService>().EnsureAdministratorAsync(AdminBootstrap.AdminUser, cancellationToken);
    await operation(app.Services.GetRequiredService<IamService>(), Console.Out, cancellationToken);
})));

var probeUrl = new Option<string>("--url") { Description = "The address to probe (default http://127.0.0.1:5000/healthz).", DefaultValueFactory = _ => "http://127.0.0.1:5000/healthz" };
var healthcheck = new Command("healthcheck", "Exit 0 if the registry at --url answers its probe with 2xx, 1 otherwise (for images without curl: Docker's HEALTHCHECK).") { probeUrl };
healthcheck.SetAction(async (parse, cancellationToken) =>
{
    using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
    try
    {
        using var response = await client.GetAsync(parse.GetValue(probeUrl), cancellationToken);
        return response.IsSuccessStatusCode ? 0 : 1;
    }
    catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException)
    {
        await Console.Error.WriteLineAsync($"registry healthcheck: {e.Message}");
        return 1;
    }
});
root.Subcommands.Add(healthcheck);

var agentConfig = new Option<string>("--config") { Description = "The agent's ecs.config-style file (KEY=value lines: ECS_CLUSTER, ECS_BACKEND_HOST, AWS_ACCESS_KEY_ID, ...).", Required = true };
var agent = new Command("agent", "Run the node agent: register with the control plane and run the tasks it places here.") { agentConfig };
agent.SetAction(async (parse, cancellationToken) =>
{
    try
    {
        var config = AgentConfig.Load(parse.GetValue(agentConfig)!, Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? ""));
        using var loggers = LoggerFactory.Create(logging => logging.AddSimpleConsole(o => o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ").SetMinimumLevel(LogLevel.Information));
        await new AgentHost(config, loggers, TimeProvider.System).RunAsync(cancellationToken);
        return 0;
    }
    catch (AgentConfigException e)
    {
        await Console.Error.WriteLineAsync($"registry agent: {e.Message}");
        return 1;
    }
    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
    {
        return 0;
    }
});
root.Subcommands.Add(agent);

return await root.Parse(args).InvokeAsync();

// Shared by the commands: the same configuration, and a missing dependency reported in one line.
async Task<int> RunAsync(ParseResult parse, Func<WebApplicationBuilder, Task> command)
{
    var settings = new Dictionary<string, string?>();
    if (parse.GetValue(data) is { } dataPath)
    {
        settings[$"{RegistryOptions.SectionName}:{nameof(RegistryOptions.DataPath)}"] = dataPath;
    }

    try
    {
        await command(RegistryApp.CreateBuilder(settings));
        return 0;
    }
    catch (StartupException e)
    {
        await Console.Error.WriteLineAsync($"registry: {e.Message}");
        return 1;
    }
    catch (IamException e)
    {
        await Console.Error.WriteLineAsync($"registry: {e.Type}: {e.Message}");
        return 1;
    }
    catch (Microsoft.Extensions.Options.OptionsValidationException e)
    {
        await Console.Error.WriteLineAsync($"registry: invalid configuration: {e.Message}");
        return 1;
    }
    catch (ProblemsFoundException)
    {
        // The command has said what it found.
        return 1;
    }
}
