using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// The real AWS CLI (Debian's awscli, at /usr/bin/aws: another aws may come first on PATH) manages
/// the registry through the ECR API with <c>--endpoint-url</c>, and podman pushes with the password
/// <c>aws ecr get-login-password</c> prints.
/// </summary>
[Collection(EndToEndGroup.Name)]
public sealed class AwsCliTests(EndToEndFixture e2e)
{

    [SkippableFact]
    public async Task The_aws_cli_creates_a_repository_sets_its_policy_and_podman_pushes_with_get_login_password()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var server = e2e.Server;
        var repository = $"e2e/aws-{Guid.NewGuid():N}"[..20];
        var admin = await KeyAsync("admin");

        var created = await AwsAsync(admin, "ecr", "create-repository", "--repository-name", repository, "--tags", "Key=team,Value=e2e");
        Assert.Equal($"arn:aws:ecr:us-east-1:000000000000:repository/{repository}", created.GetProperty("repository").GetProperty("repositoryArn").GetString());
        var policy = $$"""{"Version":"2012-10-17","Statement":[{"Sid":"CiPull","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:user/ci"},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}""";
        await AwsAsync(admin, "ecr", "set-repository-policy", "--repository-name", repository, "--policy-text", policy);
        Assert.Equal(policy, (await AwsAsync(admin, "ecr", "get-repository-policy", "--repository-name", repository)).GetProperty("policyText").GetString());

        var password = (await AwsRawAsync(admin, "ecr", "get-login-password")).Trim();
        (await Cli.RunAsync("podman", ["login", "--username", "AWS", "--password-stdin", server.HostPort], password)).EnsureSuccess("podman login with get-login-password");
        var image = $"{server.HostPort}/{repository}:v1";
        await PushTestImageAsync(image);

        var images = await AwsAsync(admin, "ecr", "describe-images", "--repository-name", repository);
        var detail = images.GetProperty("imageDetails")[0];
        Assert.Equal("v1", detail.GetProperty("imageTags")[0].GetString());
        Assert.True(detail.GetProperty("imageSizeInBytes").GetInt64() > 0);
        var listed = await AwsAsync(admin, "ecr", "list-images", "--repository-name", repository);
        Assert.Single(listed.GetProperty("imageIds").EnumerateArray());

        // A second image (the first's manifest with an annotation) put through the API, then a lifecycle
        // policy keeping one "v" image: the preview names the older, and a run expires exactly it.
        var first = detail.GetProperty("imageDigest").GetString()!;
        var manifest = (await AwsAsync(admin, "ecr", "batch-get-image", "--repository-name", repository, "--image-ids", "imageTag=v1")).GetProperty("images")[0].GetProperty("imageManifest").GetString()!;
        var annotated = System.Text.Json.Nodes.JsonNode.Parse(manifest)!.AsObject();
        annotated["annotations"] = new System.Text.Json.Nodes.JsonObject { ["e2e"] = "second" };
        await Task.Delay(1100);
        await AwsAsync(admin, "ecr", "put-image", "--repository-name", repository, "--image-tag", "v2", "--image-manifest", annotated.ToJsonString());
        var lifecycle = """{"rules":[{"rulePriority":1,"description":"keep the newest v image","selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}""";
        await AwsAsync(admin, "ecr", "put-lifecycle-policy", "--repository-name", repository, "--lifecycle-policy-text", lifecycle);
        await AwsAsync(admin, "ecr", "start-lifecycle-policy-preview", "--repository-name", repository);
        var preview = await AwsAsync(admin, "ecr", "get-lifecycle-policy-preview", "--repository-name", repository);
        Assert.Equal("COMPLETE", preview.GetProperty("status").GetString());
        Assert.Equal([first], preview.GetProperty("previewResults").EnumerateArray().Select(r => r.GetProperty("imageDigest").GetString()));
        using (var http = server.CreateClient())
        {
            var run = await http.PostAsJsonAsync("/admin/v1/lifecycle-runs", new { repositoryName = repository });
            Assert.Contains(first, await run.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var remaining = (await AwsAsync(admin, "ecr", "describe-images", "--repository-name", repository)).GetProperty("imageDetails");
        Assert.Equal("v2", Assert.Single(remaining.EnumerateArray()).GetProperty("imageTags")[0].GetString());

        var deleted = await AwsAsync(admin, "ecr", "batch-delete-image", "--repository-name", repository, "--image-ids", "imageTag=v2");
        Assert.Equal("v2", deleted.GetProperty("imageIds")[0].GetProperty("imageTag").GetString());
        Assert.Empty((await AwsAsync(admin, "ecr", "list-images", "--repository-name", repository)).GetProperty("imageIds").EnumerateArray());
        (await Cli.RunAsync("podman", ["logout", server.HostPort])).EnsureSuccess("podman logout");
    }

    [SkippableFact]
    public async Task A_push_the_policies_do_not_allow_is_denied_with_403_and_writes_nothing()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var server = e2e.Server;
        var repository = $"e2e/denied-{Guid.NewGuid():N}"[..22];
        var admin = await KeyAsync("admin");
        await AwsAsync(admin, "ecr", "create-repository", "--repository-name", repository);
        var user = "reader-" + Guid.NewGuid().ToString("N")[..8];
        using var http = server.CreateClient();
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/admin/v1/users", new { name = user })).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await http.PostAsJsonAsync("/admin/v1/policies", new { name = user + "-login", document = """{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchGetImage","ecr:GetDownloadUrlForLayer","ecr:BatchCheckLayerAvailability"],"Resource":"*"}]}""" })).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PutAsync($"/admin/v1/users/{user}/policies/{user}-login", null)).StatusCode);
        var reader = await KeyAsync(user);

        var denied = await Aws.RunAsync(reader, "ecr", "create-repository", "--repository-name", repository + "-2");
        Assert.NotEqual(0, denied.ExitCode);
        Assert.Contains("AccessDeniedException", denied.Error, StringComparison.Ordinal);

        var password = (await AwsRawAsync(reader, "ecr", "get-login-password")).Trim();
        (await Cli.RunAsync("podman", ["login", "--username", "AWS", "--password-stdin", server.HostPort], password)).EnsureSuccess("podman login as the reader");
        var push = await TryPushTestImageAsync($"{server.HostPort}/{repository}:v1");
        (await Cli.RunAsync("podman", ["logout", server.HostPort])).EnsureSuccess("podman logout");

        Assert.NotEqual(0, push.ExitCode);
        Assert.Contains("denied", push.Error, StringComparison.OrdinalIgnoreCase);
        Assert.Empty((await AwsAsync(admin, "ecr", "list-images", "--repository-name", repository)).GetProperty("imageIds").EnumerateArray());
        using var usage = JsonDocument.Parse(await http.GetStringAsync($"/api/v1/storage/{repository}"));
        Assert.Equal(0, usage.RootElement.GetProperty("blobCount").GetInt64());
    }

    [SkippableFact]
    public async Task The_aws_cli_creates_a_cluster_and_registers_describes_lists_and_deregisters_task_definitions()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var admin = await KeyAsync("admin");
        var cluster = "e2e-" + Guid.NewGuid().ToString("N")[..8];
        var family = "e2e-web-" + Guid.NewGuid().ToString("N")[..8];

        var created = await AwsAsync(admin, "ecs", "create-cluster", "--cluster-name", cluster);
        Assert.Equal("ACTIVE", created.GetProperty("cluster").GetProperty("status").GetString());
        var input = $$$"""
            {"family":"{{{family}}}","networkMode":"bridge","containerDefinitions":[{"name":"app","image":"{{{e2e.Server.HostPort}}}/team/app:1","memory":64,
              "essential":true,"command":["sh","-c","echo hello; exit 3"],"portMappings":[{"containerPort":8080,"hostPort":0}],
              "environment":[{"name":"MODE","value":"e2e"}],"logConfiguration":{"logDriver":"json-file"}}]}
            """;
        var registered = await AwsAsync(admin, "ecs", "register-task-definition", "--cli-input-json", input);
        Assert.Equal(1, registered.GetProperty("taskDefinition").GetProperty("revision").GetInt32());
        var described = await AwsAsync(admin, "ecs", "describe-task-definition", "--task-definition", family);
        Assert.Equal("e2e", described.GetProperty("taskDefinition").GetProperty("containerDefinitions")[0].GetProperty("environment")[0].GetProperty("value").GetString());
        var listed = await AwsAsync(admin, "ecs", "list-task-definitions", "--family-prefix", family);
        Assert.Single(listed.GetProperty("taskDefinitionArns").EnumerateArray());
        Assert.Contains(cluster, (await AwsAsync(admin, "ecs", "list-clusters")).GetProperty("clusterArns").EnumerateArray().Select(a => a.GetString()!).Select(a => a[(a.LastIndexOf('/') + 1)..]));

        var bad = await Aws.RunAsync(admin, "ecs", "register-task-definition", "--family", family, "--container-definitions", """[{"name":"app","image":"x"}]""");
        Assert.NotEqual(0, bad.ExitCode);
        Assert.Contains("ClientException", bad.Error, StringComparison.Ordinal);

        Assert.Equal("INACTIVE", (await AwsAsync(admin, "ecs", "deregister-task-definition", "--task-definition", $"{family}:1")).GetProperty("taskDefinition").GetProperty("status").GetString());
        Assert.Equal("INACTIVE", (await AwsAsync(admin, "ecs", "delete-cluster", "--cluster", cluster)).GetProperty("cluster").GetProperty("status").GetString());
    }

    private async Task PushTestImageAsync(string image) => (await TryPushTestImageAsync(image)).EnsureSuccess("podman push");

    private async Task<Cli.Result> TryPushTestImageAsync(string image)
    {
        (await Cli.RunAsync("podman", ["pull", $"oci:{e2e.ImageLayout}:latest"])).EnsureSuccess("podman pull from layout");
        var local = (await Cli.RunAsync("podman", ["images", "--quiet", "--filter", "reference=*:latest", "--no-trunc"])).EnsureSuccess("podman images").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0];
        (await Cli.RunAsync("podman", ["tag", local, image])).EnsureSuccess("podman tag");
        var push = await Cli.RunAsync("podman", ["push", image]);
        (await Cli.RunAsync("podman", ["rmi", "--all", "--force"])).EnsureSuccess("podman rmi");
        return push;
    }

    private AwsCli Aws => new(e2e.Server);

    private Task<(string Id, string Secret)> KeyAsync(string user) => Aws.KeyAsync(user);

    private Task<JsonElement> AwsAsync((string Id, string Secret) key, params string[] arguments) => Aws.JsonAsync(key, arguments);

    private Task<string> AwsRawAsync((string Id, string Secret) key, params string[] arguments) => Aws.RawAsync(key, arguments);
}
