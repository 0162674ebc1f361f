using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Registry.Tests.Support;

namespace Registry.Tests.Ecs;

/// <summary>
/// Task roles in process: the credentials the control plane hands an agent with a task act as the
/// task's role — exactly its policies, on the AWS APIs and on <c>/v2</c> — and nothing else signs with them.
/// </summary>
public sealed class TaskRoleTests(RegistryFixture registry) : IClassFixture<RegistryFixture>, IAsyncLifetime
{
    private static readonly string[] PullActions = ["ecr:GetAuthorizationToken", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability", "ecr:DescribeRepositories"];

    private readonly string _suffix = Guid.NewGuid().ToString("N")[..8];
    private AwsJsonTestClient _ecs = null!;
    private string _cluster = null!;
    private string _instanceArn = null!;

    private string Role => "puller-" + _suffix;

    private string Repository => "roles/app-" + _suffix;

    public async Task InitializeAsync()
    {
        var admin = registry.CreateClient();
        var session = await EcsTestSession.StartAsync(registry, "roles-");
        (_ecs, _cluster) = (session.Ecs, session.Cluster);
        _instanceArn = await session.RegisterInstanceAsync();

        await admin.PushImageAsync(Repository, "v1");
        await CreatedAsync(admin.PostAsJsonAsync("/admin/v1/roles", new
        {
            name = Role,
            trustPolicy = JsonSerializer.Serialize(new { Version = "2012-10-17", Statement = new[] { new { Effect = "Allow", Principal = new { Service = "ecs-tasks.amazonaws.com" }, Action = "sts:AssumeRole" } } }),
        }));
        await CreatedAsync(admin.PostAsJsonAsync("/admin/v1/policies", new
        {
            name = "pull-" + _suffix,
            document = JsonSerializer.Serialize(new
            {
                Version = "2012-10-17",
                Statement = new[] { new { Effect = "Allow", Action = PullActions, Resource = "*" } },
            }),
        }));
        Assert.True((await admin.PutAsync($"/admin/v1/roles/{Role}/policies/pull-{_suffix}", null)).IsSuccessStatusCode);
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task A_tasks_credentials_carry_exactly_its_roles_permissions()
    {
        var credentials = await RunAndPollAsync(new { taskRoleArn = RoleArn(Role) });
        Assert.StartsWith("ASIA", credentials.GetProperty("accessKeyId").GetString(), StringComparison.Ordinal);
        Assert.Equal(RoleArn(Role), credentials.GetProperty("roleArn").GetString());
        Assert.True(DateTimeOffset.Parse(credentials.GetProperty("expiration").GetString()!, System.Globalization.CultureInfo.InvariantCulture) > DateTimeOffset.UtcNow.AddMinutes(30));

        var ecr = Client(credentials, "ecr", AwsJsonTestClient.EcrTargetPrefix);
        Assert.Equal(200, (await ecr.CallAsync("DescribeRepositories", new { })).Status);
        var (status, denied) = await ecr.CallAsync("CreateRepository", new { repositoryName = "roles/not-allowed-" + _suffix });
        Assert.Equal(400, status);
        Assert.Equal("AccessDeniedException", denied.GetProperty("__type").GetString());
        Assert.Contains($":assumed-role/{Role}/", denied.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("AccessDeniedException", (await Client(credentials, "ecs", AwsJsonTestClient.EcsTargetPrefix).CallAsync("ListClusters", new { })).Body.GetProperty("__type").GetString());

        // On /v2, through ECR's login: pulls, and is refused pushes.
        var (_, token) = await ecr.CallAsync("GetAuthorizationToken", new { });
        var login = token.GetProperty("authorizationData")[0].GetProperty("authorizationToken").GetString()!;
        var loginExpires = DateTimeOffset.FromUnixTimeMilliseconds((long)(token.GetProperty("authorizationData")[0].GetProperty("expiresAt").GetDouble() * 1000));
        Assert.True(loginExpires <= DateTimeOffset.Parse(credentials.GetProperty("expiration").GetString()!, System.Globalization.CultureInfo.InvariantCulture).AddSeconds(1), "a role session's login ends with the session");
        var v2 = registry.CreateAnonymousClient();
        v2.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", login);
        using var pull = await v2.GetAsync($"/v2/{Repository}/manifests/v1");
        Assert.Equal(HttpStatusCode.OK, pull.StatusCode);
        using var push = await v2.PostAsync($"/v2/{Repository}/blobs/uploads/", null);
        Assert.Equal(HttpStatusCode.Forbidden, push.StatusCode);
        Assert.Contains("DENIED", await push.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Altered_or_borrowed_session_credentials_sign_nothing()
    {
        var credentials = await RunAndPollAsync(new { taskRoleArn = RoleArn(Role) });
        var id = credentials.GetProperty("accessKeyId").GetString()!;
        var secret = credentials.GetProperty("secretAccessKey").GetString()!;
        var token = credentials.GetProperty("sessionToken").GetString()!;
        var other = await RunAndPollAsync(new { taskRoleArn = RoleArn(Role) });

        async Task<string> ErrorAsync(string keyId, string keySecret, string sessionToken) =>
            (await new AwsJsonTestClient(registry.CreateAnonymousClient(), keyId, keySecret, sessionToken: sessionToken).CallAsync("DescribeRepositories", new { })).Body.GetProperty("__type").GetString()!;

        Assert.Equal("InvalidSignatureException", await ErrorAsync(id, secret + "x", token));
        Assert.Equal("UnrecognizedClientException", await ErrorAsync(id, secret, other.GetProperty("sessionToken").GetString()!));
        Assert.Equal("UnrecognizedClientException", await ErrorAsync(id, secret, Convert.ToBase64String(Encoding.UTF8.GetBytes("not a token"))));
        Assert.Equal("UnrecognizedClientException", await ErrorAsync(id, secret, "%%%"));
    }

    [Fact]
    public async Task A_role_that_does_not_trust_ecs_tasks_or_does_not_exist_is_refused_when_the_task_runs()
    {
        var untrusting = "untrusting-" + _suffix;
        await CreatedAsync(registry.CreateClient().PostAsJsonAsync("/admin/v1/roles", new
        {
            name = untrusting,
            trustPolicy = JsonSerializer.Serialize(new { Version = "2012-10-17", Statement = new[] { new { Effect = "Allow", Principal = new { Service = "lambda.amazonaws.com" }, Action = "sts:AssumeRole" } } }),
        }));

        // A path after "role/" would be checked for iam:PassRole as one ARN and issued as another role.
        foreach (var role in new[] { RoleArn(untrusting), RoleArn("no-such-role-" + _suffix), "arn:aws:iam::111111111111:role/" + Role, RoleArn("team/" + Role) })
        {
            var family = await RegisterAsync(new { taskRoleArn = role });
            var (status, body) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family });
            Assert.Equal(400, status);
            Assert.Equal("ClientException", body.GetProperty("__type").GetString());
            Assert.Contains("unable to assume the role", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RunTasks_role_overrides_are_checked_and_applied()
    {
        var family = await RegisterAsync(new { });
        var (status, refused) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family, overrides = new { taskRoleArn = RoleArn("no-such-role-" + _suffix) } });
        Assert.Equal(400, status);
        Assert.Equal("ClientException", refused.GetProperty("__type").GetString());

        var (_, run) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family, overrides = new { taskRoleArn = RoleArn(Role) } });
        var taskArn = run.GetProperty("tasks")[0].GetProperty("taskArn").GetString();
        var (_, poll) = await _ecs.CallAsync("Poll", new { cluster = _cluster, containerInstance = _instanceArn });
        var credentials = poll.GetProperty("tasks").EnumerateArray().Single(t => t.GetProperty("taskArn").GetString() == taskArn).GetProperty("roleCredentials");
        Assert.Equal(RoleArn(Role), credentials.GetProperty("roleArn").GetString());
    }

    [Fact]
    public async Task Only_the_principal_that_registered_an_instance_polls_it_and_reports_on_its_tasks()
    {
        var credentials = await RunAndPollAsync(new { taskRoleArn = RoleArn(Role) });
        Assert.StartsWith("ASIA", credentials.GetProperty("accessKeyId").GetString(), StringComparison.Ordinal);

        // Another user, allowed every ECS action, is still not the agent of this instance.
        var admin = registry.CreateClient();
        var other = "operator-" + _suffix;
        await CreatedAsync(admin.PostAsJsonAsync("/admin/v1/users", new { name = other }));
        await CreatedAsync(admin.PostAsJsonAsync("/admin/v1/policies", new { name = "ecs-all-" + _suffix, document = JsonSerializer.Serialize(new { Version = "2012-10-17", Statement = new[] { new { Effect = "Allow", Action = "ecs:*", Resource = "*" } } }) }));
        Assert.True((await admin.PutAsync($"/admin/v1/users/{other}/policies/ecs-all-{_suffix}", null)).IsSuccessStatusCode);
        using var key = JsonDocument.Parse(await (await admin.PostAsync($"/admin/v1/users/{other}/access-keys", null)).Content.ReadAsStringAsync());
        var intruder = new AwsJsonTestClient(registry.CreateAnonymousClient(), key.RootElement.GetProperty("accessKeyId").GetString()!, key.RootElement.GetProperty("secretAccessKey").GetString()!, "ecs", AwsJsonTestClient.EcsTargetPrefix);

        Assert.Equal(200, (await intruder.CallAsync("ListTasks", new { cluster = _cluster })).Status);
        var (status, poll) = await intruder.CallAsync("Poll", new { cluster = _cluster, containerInstance = _instanceArn });
        Assert.Equal(400, status);
        Assert.Equal("AccessDeniedException", poll.GetProperty("__type").GetString());
        var taskArn = (await intruder.CallAsync("ListTasks", new { cluster = _cluster })).Body.GetProperty("taskArns")[0].GetString();
        var (_, report) = await intruder.CallAsync("SubmitTaskStateChange", new { cluster = _cluster, task = taskArn, status = "STOPPED" });
        Assert.Equal("AccessDeniedException", report.GetProperty("__type").GetString());
        var (_, register) = await intruder.CallAsync("RegisterContainerInstance", new
        {
            cluster = _cluster,
            containerInstanceArn = _instanceArn,
            totalResources = new object[] { new { name = "CPU", type = "INTEGER", integerValue = 1024 }, new { name = "MEMORY", type = "INTEGER", integerValue = 1024 } },
        });
        Assert.Equal("AccessDeniedException", register.GetProperty("__type").GetString());
    }

    /// <summary>Runs a task of a new definition with <paramref name="roles"/>, and returns the role credentials its agent's poll gets.</summary>
    private async Task<JsonElement> RunAndPollAsync(object roles)
    {
        var family = await RegisterAsync(roles);
        var (status, run) = await _ecs.CallAsync("RunTask", new { cluster = _cluster, taskDefinition = family });
        Assert.True(status == 200, run.ToString());
        var taskArn = run.GetProperty("tasks")[0].GetProperty("taskArn").GetString()!;
        var (_, poll) = await _ecs.CallAsync("Poll", new { cluster = _cluster, containerInstance = _instanceArn });
        return poll.GetProperty("tasks").EnumerateArray().Single(t => t.GetProperty("taskArn").GetString() == taskArn).GetProperty("roleCredentials");
    }

    private async Task<string> RegisterAsync(object roles)
    {
        var family = "role-" + Guid.NewGuid().ToString("N")[..8];
        var definition = JsonSerializer.SerializeToNode(roles)!.AsObject();
        definition["family"] = family;
        definition["containerDefinitions"] = JsonSerializer.SerializeToNode(new[] { new { name = "app", image = "localhost/roles/app:v1", memory = 32 } });
        var (status, body) = await _ecs.CallAsync("RegisterTaskDefinition", definition);
        Assert.True(status == 200, body.ToString());
        return family;
    }

    private static async Task CreatedAsync(Task<HttpResponseMessage> request)
    {
        using var response = await request;
        Assert.True(response.StatusCode == HttpStatusCode.Created, await response.Content.ReadAsStringAsync());
    }

    private AwsJsonTestClient Client(JsonElement credentials, string service, string targetPrefix) =>
        new(registry.CreateAnonymousClient(), credentials.GetProperty("accessKeyId").GetString()!, credentials.GetProperty("secretAccessKey").GetString()!, service, targetPrefix, credentials.GetProperty("sessionToken").GetString());

    private static string RoleArn(string name) => $"arn:aws:iam::000000000000:role/{name}";
}
