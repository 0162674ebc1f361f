using System.Text.Json;

namespace Registry.Tests.Support;

/// <summary>
/// What the in-process ECS tests start from: an ECS client signing with a new access key of the admin's,
/// a cluster of their own, and container instances registered as an agent would register them.
/// </summary>
public sealed class EcsTestSession
{
    private static readonly string[] NoPorts = [];

    private EcsTestSession(AwsJsonTestClient ecs, string cluster) => (Ecs, Cluster) = (ecs, cluster);

    public AwsJsonTestClient Ecs { get; }

    public string Cluster { get; }

    /// <summary>A session on a new cluster named <paramref name="prefix"/> and 8 hex digits.</summary>
    public static async Task<EcsTestSession> StartAsync(RegistryFixture registry, string prefix)
    {
        var created = await registry.CreateClient().PostAsync("/admin/v1/users/admin/access-keys", null);
        using var key = JsonDocument.Parse(await created.Content.ReadAsStringAsync());
        var ecs = new AwsJsonTestClient(registry.CreateAnonymousClient(), key.RootElement.GetProperty("accessKeyId").GetString()!, key.RootElement.GetProperty("secretAccessKey").GetString()!, "ecs", AwsJsonTestClient.EcsTargetPrefix);
        var cluster = prefix + Guid.NewGuid().ToString("N")[..8];
        Assert.Equal(200, (await ecs.CallAsync("CreateCluster", new { clusterName = cluster })).Status);
        return new EcsTestSession(ecs, cluster);
    }

    /// <summary>Registers an instance with 4 vCPUs, 4 GiB and no reserved ports, and <paramref name="attributes"/>; its ARN.</summary>
    public async Task<string> RegisterInstanceAsync(params (string Name, string Value)[] attributes)
    {
        var (status, body) = await Ecs.CallAsync("RegisterContainerInstance", new
        {
            cluster = Cluster,
            instanceIdentityDocument = JsonSerializer.Serialize(new { instanceId = "i-" + Guid.NewGuid().ToString("N")[..12] }),
            totalResources = new object[]
            {
                new { name = "CPU", type = "INTEGER", integerValue = 4096 },
                new { name = "MEMORY", type = "INTEGER", integerValue = 4096 },
                new { name = "PORTS", type = "STRINGSET", stringSetValue = NoPorts },
            },
            attributes = attributes.Select(a => new { name = a.Name, value = a.Value }).ToArray(),
            versionInfo = new { agentVersion = "test" },
        });
        Assert.True(status == 200, body.ToString());
        return body.GetProperty("containerInstance").GetProperty("containerInstanceArn").GetString()!;
    }
}
