using Registry.Tests.Support;

namespace Registry.Tests.Kubernetes;

/// <summary>
/// The registry with the KUBERNETES launch type pointed at a <see cref="FakeKubernetesApi"/> through a
/// kubeconfig file. The resync interval is long, so what reaches the tasks comes through the Pod watch
/// (or the API's own wake-ups), not a periodic list.
/// </summary>
public sealed class KubernetesRegistryFixture : RegistryFixture
{
    public const string Namespace = "ecs-tests";

    public FakeKubernetesApi Cluster { get; private set; } = null!;

    public override async Task InitializeAsync()
    {
        Cluster = await FakeKubernetesApi.StartAsync();
        var kubeconfig = Path.Combine(Path.GetTempPath(), "registry-tests", "kubeconfig-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.GetDirectoryName(kubeconfig)!);
        await File.WriteAllTextAsync(kubeconfig, Cluster.Kubeconfig(Namespace));
        Settings["Kubernetes:Kubeconfig"] = kubeconfig;
        Settings["Kubernetes:Namespace"] = Namespace;
        Settings["Kubernetes:ResyncInterval"] = "00:10:00";
        Settings["Kubernetes:ImagePullSecrets:0"] = "registry-login";
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await Cluster.DisposeAsync();
    }
}
