using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>Run against each server: the embedded default, PostgreSQL + S3 and PostgreSQL + Azure Blob (the subclasses at the end).</summary>
public abstract class PodmanTests(EndToEndFixture e2e, ServerProcess server)
{
    [SkippableFact]
    public async Task Login_push_pull_and_run()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var image = $"{server.HostPort}/e2e/podman:v1";

        (await Cli.RunAsync("podman", ["login", "--username", "admin", "--password-stdin", server.HostPort], ServerProcess.AdminPassword)).EnsureSuccess("podman login");
        (await Cli.RunAsync("podman", ["pull", $"oci:{e2e.ImageLayout}:latest"])).EnsureSuccess("podman pull from layout");
        var local = (await Cli.RunAsync("podman", ["images", "--quiet", "--filter", "reference=*:latest", "--no-trunc"])).EnsureSuccess("podman images").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0];
        (await Cli.RunAsync("podman", ["tag", local, image])).EnsureSuccess("podman tag");
        (await Cli.RunAsync("podman", ["push", image])).EnsureSuccess("podman push");
        (await Cli.RunAsync("podman", ["rmi", "--all", "--force"])).EnsureSuccess("podman rmi");

        (await Cli.RunAsync("podman", ["pull", image])).EnsureSuccess("podman pull");
        var run = (await Cli.RunAsync("podman", ["run", "--rm", image])).EnsureSuccess("podman run");

        Assert.Contains(EndToEndFixture.Message, run.Output, StringComparison.Ordinal);
        (await Cli.RunAsync("podman", ["logout", server.HostPort])).EnsureSuccess("podman logout");
    }

    [SkippableFact]
    public async Task Login_with_wrong_password_fails()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);

        var result = await Cli.RunAsync("podman", ["login", "--username", "admin", "--password-stdin", server.HostPort], "not-the-password");

        Assert.NotEqual(0, result.ExitCode);
    }
}

[Collection(EndToEndGroup.Name)]
public sealed class PodmanTestsOnSqliteAndFileSystem(EndToEndFixture e2e) : PodmanTests(e2e, e2e.Server);

[Collection(EndToEndGroup.Name)]
public sealed class PodmanTestsOnPostgreSqlAndS3(EndToEndFixture e2e, PostgreSqlS3ServerFixture backend) : PodmanTests(e2e, backend.Require());

[Collection(EndToEndGroup.Name)]
public sealed class PodmanTestsOnPostgreSqlAndAzure(EndToEndFixture e2e, PostgreSqlAzureServerFixture backend) : PodmanTests(e2e, backend.Require());
