using System.Text.Json;
using Registry.Tests.Support;

namespace Registry.Tests.EndToEnd;

/// <summary>
/// skopeo and podman against the registry on https, verifying its certificate against the test CA
/// (<c>--tls-verify=true</c> with the CA in a <c>--cert-dir</c>; nothing is trusted globally).
/// </summary>
[Collection(EndToEndGroup.Name)]
public sealed class TlsClientTests(EndToEndFixture e2e, TlsServerFixture tls) : IClassFixture<TlsServerFixture>
{
    private static readonly string Creds = $"admin:{ServerProcess.AdminPassword}";

    [SkippableFact]
    public async Task Skopeo_copies_to_and_from_the_registry_over_verified_tls()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var reference = $"docker://{tls.Server.HostPort}/e2e/tls-skopeo:v1";
        var output = e2e.WorkPath("tls-skopeo-out");
        var certs = tls.Certificates.ClientCertDirectory;

        (await Cli.RunAsync("skopeo", ["copy", "--dest-tls-verify=true", "--dest-cert-dir", certs, "--dest-creds", Creds, $"oci:{e2e.ImageLayout}:latest", reference])).EnsureSuccess("skopeo copy to registry over TLS");
        (await Cli.RunAsync("skopeo", ["copy", "--src-tls-verify=true", "--src-cert-dir", certs, "--src-creds", Creds, reference, $"oci:{output}:v1"])).EnsureSuccess("skopeo copy from registry over TLS");

        using var index = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "index.json")));
        Assert.Equal(e2e.ImageDigest, index.RootElement.GetProperty("manifests")[0].GetProperty("digest").GetString());
    }

    [SkippableFact]
    public async Task Skopeo_refuses_the_registry_without_the_ca()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var emptyCertDir = e2e.WorkPath("no-certs");
        Directory.CreateDirectory(emptyCertDir);

        var result = await Cli.RunAsync("skopeo", ["inspect", "--tls-verify=true", "--cert-dir", emptyCertDir, "--creds", Creds, $"docker://{tls.Server.HostPort}/e2e/tls-skopeo:v1"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("certificate", result.Error, StringComparison.OrdinalIgnoreCase);
    }

    [SkippableFact]
    public async Task Podman_logs_in_pushes_and_pulls_over_verified_tls()
    {
        Skip.IfNot(EndToEndFixture.Enabled, EndToEndFixture.SkipReason);
        var host = tls.Server.HostPort;
        var image = $"{host}/e2e/tls-podman:v1";
        string[] verify = ["--tls-verify=true", "--cert-dir", tls.Certificates.ClientCertDirectory];

        (await Cli.RunAsync("podman", ["login", .. verify, "--username", "admin", "--password-stdin", host], ServerProcess.AdminPassword)).EnsureSuccess("podman login over TLS");
        (await Cli.RunAsync("podman", ["pull", $"oci:{e2e.ImageLayout}:latest"])).EnsureSuccess("podman pull from layout");
        var local = (await Cli.RunAsync("podman", ["images", "--quiet", "--filter", "reference=*:latest", "--no-trunc"])).EnsureSuccess("podman images").Output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0];
        (await Cli.RunAsync("podman", ["tag", local, image])).EnsureSuccess("podman tag");
        (await Cli.RunAsync("podman", ["push", .. verify, image])).EnsureSuccess("podman push over TLS");
        (await Cli.RunAsync("podman", ["rmi", "--force", image])).EnsureSuccess("podman rmi");

        (await Cli.RunAsync("podman", ["pull", .. verify, image])).EnsureSuccess("podman pull over TLS");
        var run = (await Cli.RunAsync("podman", ["run", "--rm", image])).EnsureSuccess("podman run");

        Assert.Contains(EndToEndFixture.Message, run.Output, StringComparison.Ordinal);
        (await Cli.RunAsync("podman", ["logout", host])).EnsureSuccess("podman logout");
    }
}
