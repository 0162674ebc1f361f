using System.Net;
using System.Threading.Channels;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Registry.Tests.Kubernetes;

/// <summary>
/// A Kubernetes API server for tests, over real HTTP on a loopback port, with the endpoints the launcher
/// calls: Pods (list, watch, create, delete), Deployments, Services and ServiceAccounts in a namespace,
/// in the API's JSON and Status errors, and a bearer token it checks. It stands in for a cluster, which
/// cannot run on this machine. Its "kubelet" starts a Pod as soon as it is created (an image whose name
/// contains <c>missing</c> fails to pull), <see cref="Exit"/> ends a container (restarted after a back-off
/// under restartPolicy Always), deletion is graceful (marked, containers stopped, gone 300 ms later), and
/// its "deployment controller" keeps each Deployment's Pods at its replicas, replacing deleted ones, and
/// replaces them all when the template changes (no surge arithmetic: the launcher's part is to set the
/// strategy, not to run it). A Service update must keep its cluster IP, as the API requires.
/// </summary>
public sealed class FakeKubernetesApi : IAsyncDisposable
{
    public const string Token = "fake-cluster-token";

    private readonly object _gate = new();
    private readonly Dictionary<string, V1Pod> _pods = [];
    private readonly Dictionary<string, V1Deployment> _deployments = [];
    private readonly Dictionary<string, V1Service> _services = [];
    private readonly Dictionary<string, V1ServiceAccount> _serviceAccounts = [];
    private readonly List<Channel<string>> _watchers = [];
    private readonly WebApplication _app;
    private long _version;
    private int _podAddress;

    private FakeKubernetesApi(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    /// <summary>Requests refused for a missing or wrong token.</summary>
    public int Unauthorized { get; private set; }

    public static async Task<FakeKubernetesApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var api = new FakeKubernetesApi(app);
        api.Map(app);
        await app.StartAsync();
        api.Url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return api;
    }

    /// <summary>A kubeconfig for this server with namespace <paramref name="ns"/> in its context.</summary>
    public string Kubeconfig(string ns) => $"""
        apiVersion: v1
        kind: Config
        clusters:
        - name: fake
          cluster:
            server: {Url}
        contexts:
        - name: fake
          context:
            cluster: fake
            user: tester
            namespace: {ns}
        current-context: fake
        users:
        - name: tester
          user:
            token: {Token}
        """;

    public List<V1Pod> Pods()
    {
        lock (_gate)
        {
            return _pods.Values.Select(Copy).ToList();
        }
    }

    public V1Deployment? Deployment(string name)
    {
        lock (_gate)
        {
            return _deployments.TryGetValue(name, out var d) ? Copy(d) : null;
        }
    }

    public List<V1Deployment> Deployments()
    {
        lock (_gate)
        {
            return _deployments.Values.Select(Copy).ToList();
        }
    }

    public V1Service? Service(string name)
    {
        lock (_gate)
        {
            return _services.TryGetValue(name, out var s) ? Copy(s) : null;
        }
    }

    public V1ServiceAccount? ServiceAccount(string name)
    {
        lock (_gate)
        {
            return _serviceAccounts.TryGetValue(name, out var a) ? Copy(a) : null;
        }
    }

    /// <summary>A Pod made by someone else (another installation, a person), running.</summary>
    public void AddPod(V1Pod pod)
    {
        lock (_gate)
        {
            pod.Metadata.Uid = Guid.NewGuid().ToString();
            _pods[pod.Metadata.Name] = pod;
            Schedule(pod);
        }
    }

    /// <summary>The kubelet sees <paramref name="container"/> of the Pod exit with <paramref name="exitCode"/>; a Pod that never restarts ends.</summary>
    public void Exit(string pod, string container, int exitCode)
    {
        lock (_gate)
        {
            var found = _pods[pod];
            var status = found.Status.ContainerStatuses.First(s => s.Name == container);
            var terminated = new V1ContainerStateTerminated { ExitCode = exitCode, Reason = exitCode == 0 ? "Completed" : "Error", FinishedAt = DateTime.UtcNow };
            status.Ready = false;
            if (found.Spec.RestartPolicy == "Always")
            {
                // The kubelet restarts it after a back-off: the exit is only in lastState.
                status.LastState = new V1ContainerState { Terminated = terminated };
                status.State = new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "CrashLoopBackOff" } };
                status.RestartCount++;
            }
            else
            {
                status.State = new V1ContainerState { Terminated = terminated };
            }

            if (found.Spec.RestartPolicy == "Never" && found.Status.ContainerStatuses.All(s => s.State.Terminated is not null))
            {
                found.Status.Phase = found.Status.ContainerStatuses.All(s => s.State.Terminated.ExitCode == 0) ? "Succeeded" : "Failed";
            }

            Changed("MODIFIED", found);
        }
    }

    private void Map(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            if (context.Request.Headers.Authorization != "Bearer " + Token)
            {
                Unauthorized++;
                await WriteStatusAsync(context, HttpStatusCode.Unauthorized, "Unauthorized", "no valid bearer token");
                return;
            }

            await next(context);
        });

        const string Core = "/api/v1/namespaces/{ns}";
        const string Apps = "/apis/apps/v1/namespaces/{ns}";
        app.MapGet(Core + "/pods", (HttpContext c, string ns) => c.Request.Query["watch"] == "true" ? WatchAsync(c) : ListAsync(c, new V1PodList { Items = Select(_pods, c) }, "PodList"));
        app.MapPost(Core + "/pods", (HttpContext c, string ns) => CreateAsync<V1Pod>(c, ns, _pods, pod => Schedule(pod)));
        app.MapDelete(Core + "/pods/{name}", (HttpContext c, string name) => DeletePodAsync(c, name));

        app.MapGet(Apps + "/deployments", (HttpContext c) => ListAsync(c, new V1DeploymentList { Items = Select(_deployments, c) }, "DeploymentList"));
        app.MapPost(Apps + "/deployments", (HttpContext c, string ns) => CreateAsync<V1Deployment>(c, ns, _deployments, Reconcile));
        app.MapPut(Apps + "/deployments/{name}", (HttpContext c, string ns, string name) => ReplaceAsync<V1Deployment>(c, ns, name, _deployments, Reconcile, (_, _) => true));
        app.MapDelete(Apps + "/deployments/{name}", (HttpContext c, string name) => DeleteAsync(c, _deployments, name, d =>
        {
            foreach (var pod in OwnedPods(d))
            {
                Terminate(pod);
            }
        }));

        app.MapGet(Core + "/services", (HttpContext c) => ListAsync(c, new V1ServiceList { Items = Select(_services, c) }, "ServiceList"));
        app.MapPost(Core + "/services", (HttpContext c, string ns) => CreateAsync<V1Service>(c, ns, _services, s => s.Spec.ClusterIP = "10.96.0." + _services.Count));
        app.MapPut(Core + "/services/{name}", (HttpContext c, string ns, string name) => ReplaceAsync<V1Service>(c, ns, name, _services, _ => { }, (current, next) => current.Spec.ClusterIP == next.Spec.ClusterIP));
        app.MapDelete(Core + "/services/{name}", (HttpContext c, string name) => DeleteAsync(c, _services, name, _ => { }));

        app.MapPost(Core + "/serviceaccounts", (HttpContext c, string ns) => CreateAsync<V1ServiceAccount>(c, ns, _serviceAccounts, _ => { }));
    }

    private async Task CreateAsync<T>(HttpContext context, string ns, Dictionary<string, T> store, Action<T> created)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var item = KubernetesJson.Deserialize<T>(await new StreamReader(context.Request.Body).ReadToEndAsync(context.RequestAborted));
        lock (_gate)
        {
            if (store.ContainsKey(item.Metadata.Name))
            {
                item = default;
            }
            else
            {
                item.Metadata.NamespaceProperty = ns;
                item.Metadata.Uid = Guid.NewGuid().ToString();
                item.Metadata.CreationTimestamp = DateTime.UtcNow;
                item.Metadata.ResourceVersion = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
                store[item.Metadata.Name] = item;
                created(item);
                item = Copy(item);
            }
        }

        await (item is null
            ? WriteStatusAsync(context, HttpStatusCode.Conflict, "AlreadyExists", "already exists")
            : WriteAsync(context, HttpStatusCode.Created, item));
    }

    /// <summary>A PUT; <paramref name="valid"/> is the API server's check of the update (a Service keeps its cluster IP: spec.clusterIP is immutable).</summary>
    private async Task ReplaceAsync<T>(HttpContext context, string ns, string name, Dictionary<string, T> store, Action<T> replaced, Func<T, T, bool> valid)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var item = KubernetesJson.Deserialize<T>(await new StreamReader(context.Request.Body).ReadToEndAsync(context.RequestAborted));
        string? refusal = null;
        lock (_gate)
        {
            if (!store.TryGetValue(name, out var current))
            {
                refusal = "NotFound";
            }
            else if (item.Metadata.ResourceVersion is { } expected && expected != current.Metadata.ResourceVersion)
            {
                refusal = "Conflict";
            }
            else if (!valid(current, item))
            {
                refusal = "Invalid";
            }
            else
            {
                item.Metadata.NamespaceProperty = ns;
                item.Metadata.Uid = current.Metadata.Uid;
                item.Metadata.CreationTimestamp = current.Metadata.CreationTimestamp;
                item.Metadata.ResourceVersion = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
                store[name] = item;
                replaced(item);
                item = Copy(item);
            }
        }

        await (refusal switch
        {
            "NotFound" => WriteStatusAsync(context, HttpStatusCode.NotFound, refusal, $"\"{name}\" not found"),
            "Conflict" => WriteStatusAsync(context, HttpStatusCode.Conflict, refusal, "the object has been modified"),
            "Invalid" => WriteStatusAsync(context, HttpStatusCode.UnprocessableEntity, refusal, "spec.clusterIP: Invalid value: field is immutable"),
            _ => WriteAsync(context, HttpStatusCode.OK, item),
        });
    }

    /// <summary>As the API answers a delete: with the object (Pods, Services), or a Status (Deployments).</summary>
    private async Task DeleteAsync<T>(HttpContext context, Dictionary<string, T> store, string name, Action<T> deleted)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        T? item;
        lock (_gate)
        {
            if (store.Remove(name, out item))
            {
                deleted(item);
                item = Copy(item);
            }
        }

        await (item switch
        {
            null => WriteStatusAsync(context, HttpStatusCode.NotFound, "NotFound", $"\"{name}\" not found"),
            V1Deployment => WriteStatusAsync(context, HttpStatusCode.OK, "", ""),
            _ => WriteAsync(context, HttpStatusCode.OK, item),
        });
    }

    /// <summary>A Pod deleted gracefully: it is marked, its containers stop, and it goes a moment later.</summary>
    private async Task DeletePodAsync(HttpContext context, string name)
    {
        V1Pod? pod;
        lock (_gate)
        {
            pod = _pods.TryGetValue(name, out var found) ? found : null;
            if (pod is not null && pod.Metadata.DeletionTimestamp is null)
            {
                Terminate(pod);
            }

            pod = pod is null ? null : Copy(pod);
        }

        await (pod is null ? WriteStatusAsync(context, HttpStatusCode.NotFound, "NotFound", $"\"{name}\" not found") : WriteAsync(context, HttpStatusCode.OK, pod));
    }

    /// <summary>Marks the Pod deleted and stops its containers (SIGTERM: 143); it is removed 300 ms later, and its Deployment, if any, replaces it.</summary>
    private void Terminate(V1Pod pod)
    {
        pod.Metadata.DeletionTimestamp = DateTime.UtcNow;
        foreach (var status in pod.Status?.ContainerStatuses ?? [])
        {
            status.State = new V1ContainerState { Terminated = new V1ContainerStateTerminated { ExitCode = 143, Reason = "Error", FinishedAt = DateTime.UtcNow } };
            status.Ready = false;
        }

        Changed("MODIFIED", pod);
        _ = Task.Delay(300).ContinueWith(_ =>
        {
            lock (_gate)
            {
                if (_pods.Remove(pod.Metadata.Name))
                {
                    Changed("DELETED", pod);
                    foreach (var owner in _deployments.Values.Where(d => OwnedPods(d).Count == 0 || d.Spec.Selector.MatchLabels.All(l => pod.Metadata.Labels?.TryGetValue(l.Key, out var v) == true && v == l.Value)))
                    {
                        Reconcile(owner);
                    }
                }
            }
        }, TaskScheduler.Default);
    }

    private List<T> Select<T>(Dictionary<string, T> store, HttpContext context)
        where T : IKubernetesObject<V1ObjectMeta>
    {
        var selector = ((string?)context.Request.Query["labelSelector"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).ToList();
        lock (_gate)
        {
            return store.Values.Where(i => selector.All(s => i.Metadata.Labels?.TryGetValue(s[0], out var v) == true && v == s[1])).Select(Copy).ToList();
        }
    }

    private Task ListAsync<T>(HttpContext context, T list, string kind)
        where T : IKubernetesObject<V1ListMeta>
    {
        list.ApiVersion = kind == "DeploymentList" ? "apps/v1" : "v1";
        list.Kind = kind;
        list.Metadata = new V1ListMeta { ResourceVersion = Interlocked.Read(ref _version).ToString(System.Globalization.CultureInfo.InvariantCulture) };
        return WriteAsync(context, HttpStatusCode.OK, list);
    }

    /// <summary>A watch: one JSON line per change from now on, until the client goes.</summary>
    private async Task WatchAsync(HttpContext context)
    {
        var channel = Channel.CreateUnbounded<string>();
        lock (_gate)
        {
            _watchers.Add(channel);
        }

        try
        {
            context.Response.ContentType = "application/json";
            await context.Response.StartAsync(context.RequestAborted);
            await foreach (var line in channel.Reader.ReadAllAsync(context.RequestAborted))
            {
                await context.Response.WriteAsync(line + "\n", context.RequestAborted);
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
            // The client went.
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove(channel);
            }
        }
    }

    /// <summary>The scheduler and kubelet at once: the Pod is scheduled, gets an address and runs, or fails to pull.</summary>
    private void Schedule(V1Pod pod)
    {
        var address = $"10.244.0.{++_podAddress}";
        pod.Status = new V1PodStatus
        {
            Phase = "Running",
            PodIP = address,
            Conditions = [new V1PodCondition { Type = "PodScheduled", Status = "True" }],
            ContainerStatuses = pod.Spec.Containers.Select(c => new V1ContainerStatus
            {
                Name = c.Name,
                Image = c.Image,
                ImageID = "",
                ContainerID = c.Image.Contains("missing", StringComparison.Ordinal) ? null : "containerd://" + Guid.NewGuid().ToString("N"),
                Ready = !c.Image.Contains("missing", StringComparison.Ordinal),
                State = c.Image.Contains("missing", StringComparison.Ordinal)
                    ? new V1ContainerState { Waiting = new V1ContainerStateWaiting { Reason = "ErrImagePull", Message = $"failed to pull image \"{c.Image}\": not found" } }
                    : new V1ContainerState { Running = new V1ContainerStateRunning { StartedAt = DateTime.UtcNow } },
            }).ToList(),
        };
        if (pod.Status.ContainerStatuses.Any(s => s.State.Waiting is not null))
        {
            pod.Status.Phase = "Pending";
        }

        Changed("ADDED", pod);
    }

    /// <summary>The deployment controller: Pods of another template go, and the current template's are kept at the replicas.</summary>
    private void Reconcile(V1Deployment deployment)
    {
        var template = KubernetesJson.Serialize(deployment.Spec.Template);
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(template)))[..10];
        var owned = OwnedPods(deployment).Where(p => p.Metadata.DeletionTimestamp is null).ToList();
        foreach (var stale in owned.Where(p => p.Metadata.Labels["pod-template-hash"] != hash).Concat(owned.Where(p => p.Metadata.Labels["pod-template-hash"] == hash).Skip(deployment.Spec.Replicas ?? 1)).ToList())
        {
            Terminate(stale);
            owned.Remove(stale);
        }

        for (var missing = (deployment.Spec.Replicas ?? 1) - owned.Count(p => p.Metadata.Labels["pod-template-hash"] == hash); missing > 0; missing--)
        {
            var copy = KubernetesJson.Deserialize<V1PodTemplateSpec>(template);
            var pod = new V1Pod
            {
                ApiVersion = "v1",
                Kind = "Pod",
                Metadata = new V1ObjectMeta
                {
                    Name = $"{deployment.Metadata.Name}-{hash}-{Guid.NewGuid().ToString("N")[..5]}",
                    NamespaceProperty = deployment.Metadata.NamespaceProperty,
                    Uid = Guid.NewGuid().ToString(),
                    CreationTimestamp = DateTime.UtcNow,
                    Labels = new Dictionary<string, string>(copy.Metadata.Labels) { ["pod-template-hash"] = hash },
                    Annotations = copy.Metadata.Annotations,
                },
                Spec = copy.Spec,
            };
            _pods[pod.Metadata.Name] = pod;
            Schedule(pod);
        }
    }

    private List<V1Pod> OwnedPods(V1Deployment deployment) =>
        _pods.Values.Where(p => deployment.Spec.Selector.MatchLabels.All(l => p.Metadata.Labels?.TryGetValue(l.Key, out var v) == true && v == l.Value)).ToList();

    private void Changed(string type, V1Pod pod)
    {
        pod.Metadata.ResourceVersion = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var line = KubernetesJson.Serialize(new { type, @object = pod });
        foreach (var watcher in _watchers)
        {
            watcher.Writer.TryWrite(line);
        }
    }

    private static T Copy<T>(T item) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(item));

    private static async Task WriteAsync(HttpContext context, HttpStatusCode status, object body)
    {
        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(KubernetesJson.Serialize(body), context.RequestAborted);
    }

    /// <summary>A Status object (KubernetesJson reads but does not write V1Status).</summary>
    private static async Task WriteStatusAsync(HttpContext context, HttpStatusCode status, string reason, string message)
    {
        context.Response.StatusCode = (int)status;
        context.Response.ContentType = "application/json";
        var success = status == HttpStatusCode.OK;
        await context.Response.WriteAsJsonAsync(new { apiVersion = "v1", kind = "Status", status = success ? "Success" : "Failure", reason, message, code = (int)status }, context.RequestAborted);
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Writer.TryComplete();
            }
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
