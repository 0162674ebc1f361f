using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

[Collection(EndToEndGroup.Name)]
public sealed class DockerTests(EndToEndFixture e2e)
{
    [SkippableFact]
    public async Task Login_push_pull_and_run()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var image = $"{e2e.Server.HostPort}/e2e/docker:v1";
        var archive = e2e.WorkPath("docker-image.tar");
        Assert.False(string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DOCKER_HOST")), "DOCKER_HOST is not set: scripts/ci/dockerd.sh starts the engine");

        (await Cli.RunAsync("skopeo", ["copy", $"oci:{e2e.ImageLayout}:latest", $"docker-archive:{archive}:e2e/local:v1"])).EnsureSuccess("skopeo copy to docker archive");
        (await Cli.RunAsync("docker", ["load", "--input", archive])).EnsureSuccess("docker load");
        (await Cli.RunAsync("docker", ["tag", "e2e/local:v1", image])).EnsureSuccess("docker tag");
        (await Cli.RunAsync("docker", ["login", "--username", "admin", "--password-stdin", e2e.Server.HostPort], ServerProcess.AdminPassword)).EnsureSuccess("docker login");
        (await Cli.RunAsync("docker", ["push", image])).EnsureSuccess("docker push");
        (await Cli.RunAsync("docker", ["rmi", image, "e2e/local:v1"])).EnsureSuccess("docker rmi");

        (await Cli.RunAsync("docker", ["pull", image])).EnsureSuccess("docker pull");
        var run = (await Cli.RunAsync("docker", ["run", "--rm", "--network", "none", image])).EnsureSuccess("docker run");

        Assert.Contains(EndToEndFixture.Message, run.Output, StringComparison.Ordinal);
        (await Cli.RunAsync("docker", ["logout", e2e.Server.HostPort])).EnsureSuccess("docker logout");
    }
}
