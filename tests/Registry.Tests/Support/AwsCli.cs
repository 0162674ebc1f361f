using System.Net;
using System.Text.Json;

namespace Registry.Tests.Support;

/// <summary>
/// The real AWS CLI (Debian's awscli at /usr/bin/aws: another aws may come first on PATH) against a
/// registry process, with an access key of one of its users and nothing from the machine's profile.
/// </summary>
public sealed class AwsCli(ServerProcess server)
{
    public const string Program = "/usr/bin/aws";

    /// <summary>A new access key for <paramref name="user"/>, made through the admin API.</summary>
    public async Task<(string Id, string Secret)> KeyAsync(string user)
    {
        using var http = server.CreateClient();
        var response = await http.PostAsync($"/admin/v1/users/{user}/access-keys", null);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        using var key = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return (key.RootElement.GetProperty("accessKeyId").GetString()!, key.RootElement.GetProperty("secretAccessKey").GetString()!);
    }

    /// <summary>Runs a command that must succeed; its JSON output.</summary>
    public async Task<JsonElement> JsonAsync((string Id, string Secret) key, params string[] arguments)
    {
        var output = await RawAsync(key, [.. arguments, "--output", "json"]);
        using var json = JsonDocument.Parse(output.Length == 0 ? "{}" : output);
        return json.RootElement.Clone();
    }

    /// <summary>Runs a command that must succeed; its output as printed.</summary>
    public async Task<string> RawAsync((string Id, string Secret) key, params string[] arguments) =>
        (await RunAsync(key, arguments)).EnsureSuccess($"aws {string.Join(' ', arguments.Take(2))}").Output;

    /// <summary>Runs a command that may fail.</summary>
    public Task<Cli.Result> RunAsync((string Id, string Secret) key, params string[] arguments) =>
        Cli.RunAsync(Program, [.. arguments, "--endpoint-url", server.BaseAddress.ToString().TrimEnd('/')], environment: Environment(key));

    /// <summary>Runs a command with temporary credentials (a role's: key, secret and session token); it may fail.</summary>
    public Task<Cli.Result> RunAsSessionAsync((string Id, string Secret, string Token) session, params string[] arguments)
    {
        var environment = Environment((session.Id, session.Secret));
        environment["AWS_SESSION_TOKEN"] = session.Token;
        return Cli.RunAsync(Program, [.. arguments, "--endpoint-url", server.BaseAddress.ToString().TrimEnd('/')], environment: environment);
    }

    /// <summary>Credentials in the environment only: no profile, config or pager from the machine.</summary>
    private static Dictionary<string, string> Environment((string Id, string Secret) key) => new()
    {
        ["AWS_ACCESS_KEY_ID"] = key.Id,
        ["AWS_SECRET_ACCESS_KEY"] = key.Secret,
        ["AWS_DEFAULT_REGION"] = "us-east-1",
        ["AWS_CONFIG_FILE"] = "/dev/null",
        ["AWS_SHARED_CREDENTIALS_FILE"] = "/dev/null",
        ["AWS_PAGER"] = "",
        ["AWS_EC2_METADATA_DISABLED"] = "true",
    };
}
