using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Registry.Ecs;
using Registry.Tests.Support;

namespace Registry.Tests.Ecs;

/// <summary>
/// The FARGATE launch type in process: tasks and services given only a task definition land on the
/// cluster's capacity agents, never on its EC2 instances, and users never see the instance.
/// </summary>
public sealed class FargateTests(RegistryFixture registry) : IClassFixture<RegistryFixture>, IAsyncLifetime
{
    private static readonly string[] NoCompatibilities = [];
    private static readonly string[] Fargate = ["FARGATE"];
    private static readonly string[] Subnets = ["subnet-1"];

    private AwsJsonTestClient _ecs = null!;
    private string _cluster = null!;
    private EcsTestSession _session = null!;

    public async Task InitializeAsync()
    {
        var session = await EcsTestSession.StartAsync(registry, "fargate-");
        (_ecs, _cluster, _session) = (session.Ecs, session.Cluster, session);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_fargate_task_lands_on_capacity_and_does_not_show_its_instance()
    {
        var ec2 = await RegisterInstanceAsync(capacity: false);
        var capacity = await RegisterInstanceAsync(capacity: true);
        var family = await RegisterAsync(Fargate, "awsvpc");

        var (status, run) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family, launchType = "FARGATE", count = 2, networkConfiguration = new { awsvpcConfiguration = new { subnets = Subnets } } });
        Assert.True(status == 200, run.ToString());
        var tasks = run.GetProperty("tasks").EnumerateArray().ToList();
        Assert.Equal(2, tasks.Count);
        Assert.All(tasks, t => Assert.Equal("FARGATE", t.GetProperty("launchType").GetString()));
        Assert.All(tasks, t => Assert.False(t.TryGetProperty("containerInstanceArn", out _)));

        // The capacity agent gets both (awsvpc run on its bridge, ports dynamic); the EC2 instance gets none.
        var polled = (await PollAsync(capacity)).GetProperty("tasks").EnumerateArray().ToList();
        Assert.Equal(2, polled.Count);
        Assert.All(polled, t => Assert.Equal("bridge", t.GetProperty("taskDefinition").GetProperty("networkMode").GetString()));
        Assert.All(polled, t => Assert.Equal(0, t.GetProperty("taskDefinition").GetProperty("containerDefinitions")[0].GetProperty("portMappings")[0].GetProperty("hostPort").GetInt32()));
        Assert.Empty((await PollAsync(ec2)).GetProperty("tasks").EnumerateArray());

        var (_, listed) = await _ecs.CallAsync("ListTasks", new { cluster = _cluster, launchType = "FARGATE" });
        Assert.Equal(2, listed.GetProperty("taskArns").GetArrayLength());
        Assert.Equal(0, (await _ecs.CallAsync("ListTasks", new { cluster = _cluster, launchType = "EC2" })).Body.GetProperty("taskArns").GetArrayLength());

        // EC2 tasks keep to the EC2 instances.
        var ec2Family = await RegisterAsync(Fargate, "bridge");
        var (_, ec2Run) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = ec2Family });
        Assert.EndsWith(ec2, ec2Run.GetProperty("tasks")[0].GetProperty("containerInstanceArn").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fargate_service_keeps_its_tasks_on_capacity()
    {
        await RegisterInstanceAsync(capacity: false);
        var capacity = await RegisterInstanceAsync(capacity: true);
        var family = await RegisterAsync(Fargate, "awsvpc");
        var (status, created) = await _ecs.CallAsync("CreateService", new { cluster = _cluster, serviceName = "web", taskDefinition = family, desiredCount = 3, launchType = "FARGATE" });
        Assert.True(status == 200, created.ToString());
        Assert.Equal("FARGATE", created.GetProperty("service").GetProperty("launchType").GetString());

        await registry.Services.GetRequiredService<ServiceScheduler>().PassAsync(CancellationToken.None);
        Assert.Equal(3, (await PollAsync(capacity)).GetProperty("tasks").GetArrayLength());
        Assert.Equal(1, (await _ecs.CallAsync("ListServices", new { cluster = _cluster, launchType = "FARGATE" })).Body.GetProperty("serviceArns").GetArrayLength());
        Assert.Equal(0, (await _ecs.CallAsync("ListServices", new { cluster = _cluster, launchType = "EC2" })).Body.GetProperty("serviceArns").GetArrayLength());
    }

    [Fact]
    public async Task Fargate_needs_a_compatible_definition_and_capacity()
    {
        await RegisterInstanceAsync(capacity: false);
        var ec2Only = await RegisterAsync(NoCompatibilities, "awsvpc");
        var hostMode = await RegisterAsync(Fargate, "host");
        var noTaskMemory = await RegisterAsync(Fargate, "awsvpc", taskLevel: false);
        var good = await RegisterAsync(Fargate, "awsvpc");

        Assert.Contains("does not support launch_type FARGATE", await ErrorAsync(ec2Only, "FARGATE"), StringComparison.Ordinal);
        Assert.Contains("network mode", await ErrorAsync(hostMode, "FARGATE"), StringComparison.Ordinal);
        Assert.Contains("task-level cpu and memory", await ErrorAsync(noTaskMemory, "FARGATE"), StringComparison.Ordinal);
        Assert.Contains("EC2 (the cluster's container instances), FARGATE", await ErrorAsync(good, "EXTERNAL"), StringComparison.Ordinal);

        var (_, run) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = good, launchType = "FARGATE" });
        Assert.Empty(run.GetProperty("tasks").EnumerateArray());
        Assert.Contains("No FARGATE capacity", run.GetProperty("failures")[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    private async Task<string> ErrorAsync(string family, string launchType)
    {
        var (status, body) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family, launchType });
        Assert.Equal(400, status);
        return body.GetProperty("message").GetString()!;
    }

    /// <summary>Registers an instance (a FARGATE capacity agent when <paramref name="capacity"/>); its ARN.</summary>
    private Task<string> RegisterInstanceAsync(bool capacity) =>
        capacity ? _session.RegisterInstanceAsync(("registry.capacity", "FARGATE")) : _session.RegisterInstanceAsync();

    private async Task<string> RegisterAsync(string[] compatibilities, string networkMode, bool taskLevel = true)
    {
        var family = "fg-" + Guid.NewGuid().ToString("N")[..8];
        var (status, body) = await _ecs.CallAsync("RegisterTaskDefinition", new
        {
            family,
            networkMode,
            requiresCompatibilities = compatibilities,
            cpu = taskLevel ? "256" : null,
            memory = taskLevel ? "512" : null,
            containerDefinitions = new[] { new { name = "web", image = "localhost/team/web:1", memory = 64, portMappings = new[] { new { containerPort = 80 } } } },
        });
        Assert.True(status == 200, body.ToString());
        return family;
    }

    private async Task<JsonElement> PollAsync(string instanceArn) =>
        (await _ecs.CallAsync("Poll", new { cluster = _cluster, containerInstance = instanceArn })).Body;
}
