using System.Text.Json.Nodes;
using Registry.AwsApi;
using Registry.Data.Entities;
using Registry.Kubernetes;
using Registry.Kubernetes.Manifests;
using Registry.Scheduler;
using Registry.Scheduler.Tasks;

namespace Registry.Ecs;

/// <summary>
/// The KUBERNETES launch type's side of the API: its tasks are stored unplaced (Kubernetes places
/// Pods) and <see cref="KubernetesLauncher"/> creates their Pods; a task definition that cannot become a
/// Pod is refused at the call, as ECS refuses one a launch type cannot run.
/// </summary>
internal sealed partial class EcsService
{
    private async Task<object> RunOnKubernetesAsync(AwsCall call, ClusterEntity cluster, TaskDefinitionEntity definition, TaskRequest request, int count)
    {
        if (call.Array("placementStrategy", required: false).Count > 0 || call.Array("placementConstraints", required: false).Count > 0)
        {
            throw AwsApiException.InvalidParameter("placementStrategy and placementConstraints are not available with launchType KUBERNETES: Kubernetes places the Pods.");
        }

        RequireCompatible(definition, LaunchTypes.Kubernetes, request.Overrides);
        await using var db = await DbAsync(call);
        var tasks = Enumerable.Range(0, count).Select(_ => NewTask(cluster, definition, null, request, LaunchTypes.Kubernetes)).ToList();
        db.Tasks.AddRange(tasks);
        await db.SaveChangesAsync(call.Context.RequestAborted);
        await DurableAsync(call);
        WakeKubernetes(call);
        return new
        {
            tasks = tasks.Select(t => Describe(new TaskView(t, cluster.Name, definition.Family, definition.Revision, null))).ToList(),
            failures = Array.Empty<object>(),
        };
    }

    /// <summary>Builds the Pod spec the launcher would, so what it cannot express is the caller's ClientException now.</summary>
    private void RequirePodSpec(TaskDefinitionEntity definition, TaskOverrides overrides)
    {
        try
        {
            _ = PodSpecs.For(JsonNode.Parse(definition.Document)!.AsObject(), overrides, null, kubernetes.Value.ImagePullSecrets, restartAlways: false);
        }
        catch (KubernetesManifestException e)
        {
            throw new AwsApiException("ClientException", $"Task definition {definition.Family}:{definition.Revision}: {e.Message}");
        }
    }

    /// <summary>
    /// A Kubernetes service is reached through the Service made for it and placed by Kubernetes: no target
    /// groups, no placement; and its Deployment must be able to roll (Kubernetes refuses maxSurge and
    /// maxUnavailable both 0, which maximumPercent 100 with minimumHealthyPercent 100 would be).
    /// </summary>
    private static void RequireKubernetesFit(string launchType, bool balancedOrPlaced, int minimumHealthyPercent, int maximumPercent)
    {
        if (launchType != LaunchTypes.Kubernetes)
        {
            return;
        }

        if (balancedOrPlaced)
        {
            throw AwsApiException.InvalidParameter("loadBalancers, placementStrategy and placementConstraints are not available with launchType KUBERNETES: a Kubernetes Service fronts the Pods and Kubernetes places them.");
        }

        if (maximumPercent <= 100 && minimumHealthyPercent >= 100)
        {
            throw AwsApiException.InvalidParameter("With launchType KUBERNETES, maximumPercent above 100 or minimumHealthyPercent below 100 is needed: a Deployment cannot roll with neither surge nor unavailability.");
        }
    }

    private static void WakeKubernetes(AwsCall call)
    {
        foreach (var launcher in call.Context.RequestServices.GetServices<ITaskLauncher>())
        {
            launcher.Wake();
        }
    }
}
