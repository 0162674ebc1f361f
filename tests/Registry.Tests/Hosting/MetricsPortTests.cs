using System.Net;
using Registry.Tests.Support;

namespace Registry.Tests.Hosting;

/// <summary>With <c>Metrics:Port</c>, /metrics answers only on that port, so publishing the registry's own port does not publish it.</summary>
public sealed class MetricsPortTests(MetricsPortTests.OwnPortRegistry registry) : IClassFixture<MetricsPortTests.OwnPortRegistry>
{
    [Fact]
    public async Task Metrics_answer_on_their_port_only()
    {
        var client = registry.CreateAnonymousClient();
        using var onRegistryPort = await client.GetAsync("http://localhost:5000/metrics");
        Assert.Equal(HttpStatusCode.NotFound, onRegistryPort.StatusCode);
        using var onMetricsPort = await client.GetAsync("http://localhost:9090/metrics");
        Assert.Equal(HttpStatusCode.OK, onMetricsPort.StatusCode);
        Assert.Contains("registry_http_requests_total", await onMetricsPort.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    public sealed class OwnPortRegistry : RegistryFixture
    {
        public OwnPortRegistry() => Settings["Metrics:Port"] = "9090";
    }
}
