using k8s;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Registry.Scheduler;

namespace Registry.Kubernetes;

/// <summary>
/// Registers the Kubernetes client and the launcher. Called only when a kubeconfig is configured, so
/// KubernetesClient (and what it brings) is not even loaded otherwise.
/// </summary>
public static class KubernetesServices
{
    public static IServiceCollection AddKubernetesLauncher(this IServiceCollection services)
    {
        services.AddSingleton<IKubernetes>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<KubernetesOptions>>().Value;
            return new k8s.Kubernetes(KubernetesClientConfiguration.BuildConfigFromConfigFile(options.Kubeconfig, options.Context));
        });
        services.AddSingleton<KubernetesLauncher>();
        services.AddSingleton<ITaskLauncher>(sp => sp.GetRequiredService<KubernetesLauncher>());
        services.AddHostedService(sp => sp.GetRequiredService<KubernetesLauncher>());
        return services;
    }
}
