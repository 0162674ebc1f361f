using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Registry.GarbageCollection;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary>
/// <c>/metrics</c> after a push and a pull shows the series operators graph (requests by route, method
/// and status with latencies, bytes pushed and pulled, uploads in flight, blob store latency, GC runs and
/// bytes freed, storage per repository, auth decisions, ECS tasks by state, the process), and the
/// probes answer without credentials.
/// </summary>
public sealed class MetricsAndHealthTests(RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task Metrics_show_the_push_the_pull_the_collection_and_the_storage()
    {
        var admin = registry.CreateClient();
        var repository = "metrics/app-" + Guid.NewGuid().ToString("N")[..8];
        var (manifest, digest) = await admin.PushImageAsync(repository, "v1");
        var (_, blobs) = await admin.PullVerifiedAsync(repository, digest);
        await registry.Services.GetRequiredService<GarbageCollector>().RunAsync(dryRun: false, CancellationToken.None);
        using var denied = await registry.CreateAnonymousClient().GetAsync($"/v2/{repository}/manifests/v1");
        Assert.Equal(HttpStatusCode.Unauthorized, denied.StatusCode);

        using var response = await registry.CreateAnonymousClient().GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var metrics = await response.Content.ReadAsStringAsync();

        Assert.True(Value(metrics, "registry_http_requests_total", ("route", "v2 blob"), ("method", "GET"), ("status", "200")) >= blobs.Count);
        Assert.True(Value(metrics, "registry_http_requests_total", ("route", "v2 manifest"), ("method", "PUT"), ("status", "201")) >= 1);
        Assert.True(Value(metrics, "registry_http_requests_total", ("route", "v2 manifest"), ("method", "GET"), ("status", "401")) >= 1);
        Assert.True(Value(metrics, "registry_http_request_duration_seconds_count", ("route", "v2 upload"), ("method", "PUT")) >= 1);
        Assert.True(Value(metrics, "registry_pushed_bytes_total") >= blobs.Values.Sum() + manifest.Length);
        Assert.True(Value(metrics, "registry_pulled_bytes_total") >= blobs.Values.Sum());
        Assert.Equal(0, Value(metrics, "registry_uploads_in_flight"));
        Assert.True(Value(metrics, "registry_blob_store_operation_duration_seconds_count", ("backend", "filesystem"), ("operation", "commit_upload")) >= blobs.Count);
        Assert.True(Value(metrics, "registry_gc_runs_total", ("result", "completed")) >= 1);
        Assert.Contains("registry_gc_freed_bytes_total", metrics, StringComparison.Ordinal);
        Assert.True(Value(metrics, "registry_repository_storage_bytes", ("repository", repository)) >= blobs.Values.Sum());
        Assert.True(Value(metrics, "registry_auth_decisions_total", ("service", "ecr"), ("decision", "allow")) >= 1);
        Assert.Contains("# TYPE registry_ecs_tasks gauge", metrics, StringComparison.Ordinal);
        Assert.True(Value(metrics, "process_cpu_seconds_total") > 0);
    }

    [Fact]
    public async Task Health_and_readiness_answer_without_credentials()
    {
        var anonymous = registry.CreateAnonymousClient();
        using var live = await anonymous.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);

        using var ready = await anonymous.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal(("ready", "ok", "ok"), (body.RootElement.GetProperty("status").GetString(), body.RootElement.GetProperty("database").GetString(), body.RootElement.GetProperty("blobStore").GetString()));
    }

    /// <summary>The value of the series <paramref name="name"/> with (at least) these labels; fails when there is none.</summary>
    internal static double Value(string metrics, string name, params (string Label, string Value)[] labels)
    {
        foreach (var line in metrics.Split('\n'))
        {
            if (!line.StartsWith(name, StringComparison.Ordinal) || line.Length <= name.Length || line[name.Length] is not ('{' or ' '))
            {
                continue;
            }

            if (labels.All(l => line.Contains($"{l.Label}=\"{l.Value}\"", StringComparison.Ordinal)))
            {
                return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
            }
        }

        Assert.Fail($"No series {name}{{{string.Join(',', labels.Select(l => $"{l.Label}=\"{l.Value}\""))}}} in:\n{metrics}");
        return 0;
    }
}
