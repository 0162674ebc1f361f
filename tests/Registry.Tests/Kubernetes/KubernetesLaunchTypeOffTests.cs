using System.Text.Json;
using Registry.Tests.Support;

namespace Registry.Tests.Kubernetes;

/// <summary>Without a kubeconfig there is no KUBERNETES launch type, and the error says what turns it on.</summary>
public sealed class KubernetesLaunchTypeOffTests(RegistryFixture registry) : IClassFixture<RegistryFixture>
{
    [Fact]
    public async Task Run_task_and_create_service_say_a_kubeconfig_is_needed()
    {
        var session = await EcsTestSession.StartAsync(registry, "nok8s-");
        var family = "nok8s-" + Guid.NewGuid().ToString("N")[..8];
        var definition = JsonSerializer.SerializeToNode(new { family, containerDefinitions = new[] { new { name = "app", image = "busybox", memory = 32 } } })!;
        Assert.Equal(200, (await session.Ecs.CallAsync("RegisterTaskDefinition", definition)).Status);

        var (status, run) = await session.Ecs.CallAsync("RunTask", new { cluster = session.Cluster, taskDefinition = family, launchType = "KUBERNETES" });
        Assert.Equal((400, "InvalidParameterException"), (status, run.GetProperty("__type").GetString()));
        Assert.Contains("Kubernetes:Kubeconfig", run.GetProperty("message").GetString(), StringComparison.Ordinal);
        var (_, service) = await session.Ecs.CallAsync("CreateService", new { cluster = session.Cluster, serviceName = "web", taskDefinition = family, desiredCount = 1, launchType = "KUBERNETES" });
        Assert.Equal("InvalidParameterException", service.GetProperty("__type").GetString());
    }
}
