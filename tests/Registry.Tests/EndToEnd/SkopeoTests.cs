using System.Text.Json;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>Run against each server: the embedded default, PostgreSQL + S3 and PostgreSQL + Azure Blob (the subclasses at the end).</summary>
public abstract class SkopeoTests(EndToEndFixture e2e, ServerProcess server)
{
    [SkippableFact]
    public async Task Copy_layout_to_registry_and_back_keeps_the_digest()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var creds = $"admin:{ServerProcess.AdminPassword}";
        var reference = $"docker://{server.HostPort}/e2e/skopeo:v1";
        var output = e2e.WorkPath($"skopeo-out-{server.Port}");

        (await Cli.RunAsync("skopeo", ["copy", "--dest-creds", creds, $"oci:{e2e.ImageLayout}:latest", reference])).EnsureSuccess("skopeo copy to registry");
        (await Cli.RunAsync("skopeo", ["copy", "--src-creds", creds, reference, $"oci:{output}:v1"])).EnsureSuccess("skopeo copy from registry");

        using var index = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "index.json")));
        Assert.Equal(e2e.ImageDigest, index.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString());
        var inspect = (await Cli.RunAsync("skopeo", ["inspect", "--creds", creds, "--format", "{{.Digest}}", reference])).EnsureSuccess("skopeo inspect");
        Assert.Equal(e2e.ImageDigest, inspect.Output.Trim());
    }

    [SkippableFact]
    public async Task Copy_with_wrong_credentials_is_refused()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);

        var result = await Cli.RunAsync("skopeo", ["copy", "--dest-creds", "admin:wrong", $"oci:{e2e.ImageLayout}:latest", $"docker://{server.HostPort}/e2e/denied:v1"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("unauthorized", result.Error, StringComparison.OrdinalIgnoreCase);
    }
}

[Collection(EndToEndGroup.Name)]
public sealed class SkopeoTestsOnSqliteAndFileSystem(EndToEndFixture e2e) : SkopeoTests(e2e, e2e.Server);

[Collection(EndToEndGroup.Name)]
public sealed class SkopeoTestsOnPostgreSqlAndS3(EndToEndFixture e2e, PostgreSqlS3ServerFixture backend) : SkopeoTests(e2e, backend.Require());

[Collection(EndToEndGroup.Name)]
public sealed class SkopeoTestsOnPostgreSqlAndAzure(EndToEndFixture e2e, PostgreSqlAzureServerFixture backend) : SkopeoTests(e2e, backend.Require());
