using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging.Abstractions;
using Registry.Agent.Credentials;
using Registry.Tests.Support;

namespace Registry.Tests.Agent;

[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class TaskCredentialsTests : IDisposable
{
    private const string TaskA = "arn:aws:ecs:us-east-1:000000000000:task/c/aaaa";
    private const string TaskB = "arn:aws:ecs:us-east-1:000000000000:task/c/bbbb";

    private readonly string _data = Path.Combine(Path.GetTempPath(), "registry-tests", "credentials-" + Guid.NewGuid().ToString("N"));

    private static JsonObject Role(string keyId) => new()
    {
        ["roleArn"] = "arn:aws:iam::000000000000:role/app",
        ["accessKeyId"] = keyId,
        ["secretAccessKey"] = "secret-" + keyId,
        ["sessionToken"] = "token-" + keyId,
        ["expiration"] = "2026-11-26T18:00:00Z",
    };

    [Fact]
    public void Ids_and_tokens_survive_a_restart_and_differ_per_task()
    {
        var first = TaskCredentials.Load(_data);
        var again = TaskCredentials.Load(_data);
        Assert.Equal(first.IdFor(TaskA), again.IdFor(TaskA));
        Assert.Equal(first.TokenFor(TaskA), again.TokenFor(TaskA));
        Assert.NotEqual(first.IdFor(TaskA), first.IdFor(TaskB));
        Assert.Matches("^[0-9a-f]{32}$", first.IdFor(TaskA));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(_data, "task-credentials.key")));
        Assert.NotEqual(first.IdFor(TaskA), TaskCredentials.Load(_data + "-other").IdFor(TaskA));
    }

    [Fact]
    public void A_task_reaching_the_full_uri_needs_its_own_token_and_stopped_tasks_have_none()
    {
        var credentials = TaskCredentials.Load(_data);
        credentials.Set(TaskA, Role("ASIAA"), tokenRequired: true);
        credentials.Set(TaskB, Role("ASIAB"), tokenRequired: false);

        Assert.Equal(CredentialsResult.Unauthorized, credentials.Find(credentials.IdFor(TaskA), null).Result);
        Assert.Equal(CredentialsResult.Unauthorized, credentials.Find(credentials.IdFor(TaskA), credentials.TokenFor(TaskB)).Result);
        var found = credentials.Find(credentials.IdFor(TaskA), credentials.TokenFor(TaskA));
        Assert.Equal(CredentialsResult.Found, found.Result);
        Assert.Equal("ASIAA", (string?)found.Credentials!["AccessKeyId"]);
        Assert.Equal("token-ASIAA", (string?)found.Credentials["Token"]);
        Assert.Equal(CredentialsResult.Found, credentials.Find(credentials.IdFor(TaskB), null).Result);
        Assert.Equal(CredentialsResult.NotFound, credentials.Find("0123456789abcdef0123456789abcdef", null).Result);

        credentials.Remove(TaskA);
        Assert.Equal(CredentialsResult.NotFound, credentials.Find(credentials.IdFor(TaskA), credentials.TokenFor(TaskA)).Result);
    }

    [Fact]
    public async Task The_endpoint_answers_as_the_ecs_agent_does()
    {
        var credentials = TaskCredentials.Load(_data);
        credentials.Set(TaskA, Role("ASIAA"), tokenRequired: true);
        var port = ServerProcess.FreePort();
        await using var endpoint = new CredentialsEndpoint(credentials, port, NullLoggerFactory.Instance);
        await endpoint.StartAsync(CancellationToken.None);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v2/credentials/{credentials.IdFor(TaskA)}");
        request.Headers.TryAddWithoutValidation("Authorization", credentials.TokenFor(TaskA));
        using var found = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, found.StatusCode);
        using var body = JsonDocument.Parse(await found.Content.ReadAsStringAsync());
        Assert.Equal(["AccessKeyId", "Expiration", "RoleArn", "SecretAccessKey", "Token"], body.RootElement.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));

        using var unauthorized = await http.GetAsync($"/v2/credentials/{credentials.IdFor(TaskA)}");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        using var unknown = await http.GetAsync("/v2/credentials/nope");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("InvalidIdInRequest", await unknown.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var elsewhere = await http.GetAsync("/v1/credentials");
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
    }

    public void Dispose()
    {
        foreach (var path in new[] { _data, _data + "-other" }.Where(Directory.Exists))
        {
            Directory.Delete(path, recursive: true);
        }
    }
}
