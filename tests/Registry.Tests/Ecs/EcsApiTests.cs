using System.Text.Json;
using Registry.Tests.Support;

namespace Registry.Tests.Ecs;

/// <summary>The ECS API in process: clusters and task definitions. Run against each metadata database: see the subclasses at the end.</summary>
public abstract class EcsApiTests(RegistryFixture registry) : IAsyncLifetime
{
    private AwsJsonTestClient _ecs = null!;

    public async Task InitializeAsync()
    {
        var created = await registry.CreateClient().PostAsync("/admin/v1/users/admin/access-keys", null);
        using var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        _ecs = new AwsJsonTestClient(registry.CreateAnonymousClient(), key.RootElement.GetProperty("accessKeyId").GetString()!, key.RootElement.GetProperty("secretAccessKey").GetString()!, "ecs", AwsJsonTestClient.EcsTargetPrefix);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [SkippableFact]
    public async Task Clusters_are_created_described_listed_and_deleted()
    {
        var name = "cluster-" + Guid.NewGuid().ToString("N")[..8];

        var (status, created) = await _ecs.CallAsync("CreateCluster", new { clusterName = name });
        var again = await _ecs.CallAsync("CreateCluster", new { clusterName = name });
        var (_, listed) = await _ecs.CallAsync("ListClusters", new { });
        var (_, described) = await _ecs.CallAsync("DescribeClusters", new { clusters = new[] { name, "missing-" + name } });

        Assert.Equal(200, status);
        var arn = $"arn:aws:ecs:us-east-1:000000000000:cluster/{name}";
        Assert.Equal(arn, created.GetProperty("cluster").GetProperty("clusterArn").GetString());
        Assert.Equal(200, again.Status);
        Assert.Contains(arn, listed.GetProperty("clusterArns").EnumerateArray().Select(a => a.GetString()));
        Assert.Equal("ACTIVE", described.GetProperty("clusters")[0].GetProperty("status").GetString());
        Assert.Equal("MISSING", described.GetProperty("failures")[0].GetProperty("reason").GetString());

        Assert.Equal("INACTIVE", (await _ecs.CallAsync("DeleteCluster", new { cluster = arn })).Body.GetProperty("cluster").GetProperty("status").GetString());
        Assert.Equal("ClusterNotFoundException", (await _ecs.CallAsync("DeleteCluster", new { cluster = name })).Body.GetProperty("__type").GetString());
        Assert.Equal("InvalidParameterException", (await _ecs.CallAsync("CreateCluster", new { clusterName = "no spaces" })).Body.GetProperty("__type").GetString());
    }

    [SkippableFact]
    public async Task Task_definitions_get_revisions_and_are_described_listed_and_deregistered()
    {
        var family = "web-" + Guid.NewGuid().ToString("N")[..8];
        var definition = new
        {
            family,
            networkMode = "bridge",
            containerDefinitions = new object[]
            {
                new { name = "app", image = "127.0.0.1:5000/team/app:1", memory = 128, portMappings = new[] { new { containerPort = 80, hostPort = 0 } }, command = new[] { "serve" } },
            },
            tags = new[] { new { key = "team", value = "web" } },
        };

        var (status, first) = await _ecs.CallAsync("RegisterTaskDefinition", definition);
        var (_, second) = await _ecs.CallAsync("RegisterTaskDefinition", definition);
        var (_, latest) = await _ecs.CallAsync("DescribeTaskDefinition", new { taskDefinition = family });
        var (_, listed) = await _ecs.CallAsync("ListTaskDefinitions", new { familyPrefix = family, sort = "DESC" });

        Assert.Equal(200, status);
        Assert.Equal(1, first.GetProperty("taskDefinition").GetProperty("revision").GetInt32());
        Assert.Equal(2, second.GetProperty("taskDefinition").GetProperty("revision").GetInt32());
        Assert.Equal($"arn:aws:ecs:us-east-1:000000000000:task-definition/{family}:2", latest.GetProperty("taskDefinition").GetProperty("taskDefinitionArn").GetString());
        Assert.True(latest.GetProperty("taskDefinition").GetProperty("containerDefinitions")[0].GetProperty("essential").GetBoolean());
        Assert.Equal([$"{family}:2", $"{family}:1"], listed.GetProperty("taskDefinitionArns").EnumerateArray().Select(a => a.GetString()![(a.GetString()!.LastIndexOf('/') + 1)..]));

        var (_, deregistered) = await _ecs.CallAsync("DeregisterTaskDefinition", new { taskDefinition = $"{family}:2" });
        Assert.Equal("INACTIVE", deregistered.GetProperty("taskDefinition").GetProperty("status").GetString());
        Assert.Equal(1, (await _ecs.CallAsync("DescribeTaskDefinition", new { taskDefinition = family })).Body.GetProperty("taskDefinition").GetProperty("revision").GetInt32());
        Assert.Equal("ClientException", (await _ecs.CallAsync("DescribeTaskDefinition", new { taskDefinition = "nope-" + family })).Body.GetProperty("__type").GetString());
        var bad = await _ecs.CallAsync("RegisterTaskDefinition", new { family, containerDefinitions = new object[] { new { name = "a", memory = 64 } } });
        Assert.Equal(400, bad.Status);
        Assert.Equal("ClientException", bad.Body.GetProperty("__type").GetString());
    }
}

public sealed class EcsApiTestsOnSqlite(RegistryFixture registry) : EcsApiTests(registry), IClassFixture<RegistryFixture>;

public sealed class EcsApiTestsOnPostgreSql(PostgreSqlRegistryFixture registry) : EcsApiTests(registry.Require()), IClassFixture<PostgreSqlRegistryFixture>;
