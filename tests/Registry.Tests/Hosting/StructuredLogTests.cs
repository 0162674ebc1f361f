using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary>
/// <c>registry serve</c> logs JSON lines to stdout: one access-log line per request (method, route,
/// repository, status, bytes, duration, principal, request id), with the request's scope, and never a
/// password, a Basic credential or a token.
/// </summary>
public sealed class StructuredLogTests : IAsyncLifetime
{
    private ServerProcess Server { get; } = new(Path.Combine(Path.GetTempPath(), "registry-tests", Guid.NewGuid().ToString("N")));

    public Task InitializeAsync() => Server.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();

    [Fact]
    public async Task Every_line_is_json_each_request_has_an_access_line_and_no_secret_is_logged()
    {
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{ServerProcess.AdminPassword}"));
        var admin = Server.CreateClient();
        admin.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", basic);
        var repository = "logs/app-" + Guid.NewGuid().ToString("N")[..8];
        var (_, digest) = await admin.PushImageAsync(repository, "v1");

        using var tokenResponse = await admin.GetAsync($"/token?service=registry&scope=repository:{repository}:pull");
        var token = JsonDocument.Parse(await tokenResponse.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        var puller = Server.CreateClient();
        puller.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using (var pulled = await puller.GetAsync($"/v2/{repository}/manifests/{digest}"))
        {
            pulled.EnsureSuccessStatusCode();
        }

        var lines = await AccessLinesAsync(l => l.Method == "GET" && l.Route == "v2 manifest");
        var log = Server.Log;
        foreach (var line in log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            using var _ = JsonDocument.Parse(line);
        }

        var push = Assert.Single(lines, l => l.Method == "PUT" && l.Route == "v2 manifest");
        Assert.Equal((201, "admin", repository), (push.Status, push.Principal, push.Repository));
        Assert.True(push.BytesIn > 0);
        Assert.False(string.IsNullOrEmpty(push.RequestId));
        var pull = Assert.Single(lines, l => l.Method == "GET" && l.Route == "v2 manifest");
        Assert.Equal((200, "admin"), (pull.Status, pull.Principal));
        Assert.True(pull.BytesOut > 0);
        Assert.Contains(lines, l => l.Route == "/token" && l.Status == 200);

        Assert.DoesNotContain(ServerProcess.AdminPassword, log, StringComparison.Ordinal);
        Assert.DoesNotContain(basic, log, StringComparison.Ordinal);
        Assert.DoesNotContain(token, log, StringComparison.Ordinal);
        Assert.DoesNotContain(token.Split('.')[2], log, StringComparison.Ordinal);
    }

    /// <summary>The access-log lines so far, once one matches <paramref name="until"/> (the console logger writes asynchronously).</summary>
    private async Task<List<AccessLine>> AccessLinesAsync(Func<AccessLine, bool> until)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            var lines = Server.Log.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(l => JsonDocument.Parse(l).RootElement)
                .Where(e => e.GetProperty("Category").GetString() == "Registry.AccessLog")
                .Select(e => (e.GetProperty("State"), e))
                .Select(p => new AccessLine(
                    p.Item1.GetProperty("Method").GetString()!,
                    p.Item1.GetProperty("Route").GetString()!,
                    p.Item1.TryGetProperty("Repository", out var repository) ? repository.GetString() : null,
                    p.Item1.GetProperty("Status").GetInt32(),
                    p.Item1.GetProperty("BytesIn").GetInt64(),
                    p.Item1.GetProperty("BytesOut").GetInt64(),
                    p.Item1.TryGetProperty("Principal", out var principal) ? principal.GetString() : null,
                    p.Item1.GetProperty("RequestId").GetString()!))
                .ToList();
            if (lines.Any(until) || DateTime.UtcNow > deadline)
            {
                return lines;
            }

            await Task.Delay(100);
        }
    }

    private sealed record AccessLine(string Method, string Route, string? Repository, int Status, long BytesIn, long BytesOut, string? Principal, string RequestId);
}
