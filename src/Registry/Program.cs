using System.CommandLine;
using Registry.Hosting;

var root = new RootCommand("A self-hosted OCI registry with ECR- and ECS-style APIs.");

var urls = new Option<string?>("--urls") { Description = "Addresses to listen on (default http://127.0.0.1:5000, or the 'urls' setting)." };
var data = new Option<string?>("--data") { Description = "Data folder: SQLite metadata, blobs and keys (default ./data)." };
var serve = new Command("serve", "Run the registry server.") { urls, data };
serve.SetAction(async (parse, cancellationToken) =>
{
    var settings = new Dictionary<string, string?>();
    if (parse.GetValue(data) is { } dataPath)
    {
        settings[$"{RegistryOptions.SectionName}:{nameof(RegistryOptions.DataPath)}"] = dataPath;
    }

    var builder = RegistryApp.CreateBuilder(settings);
    builder.WebHost.UseUrls(parse.GetValue(urls) ?? builder.Configuration["urls"] ?? "http://127.0.0.1:5000");
    await using var app = RegistryApp.Build(builder);
    await app.RunAsync(cancellationToken);
    return 0;
});
root.Subcommands.Add(serve);

return await root.Parse(args).InvokeAsync();
