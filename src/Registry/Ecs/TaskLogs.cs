using Microsoft.EntityFrameworkCore;
using Registry.Data;
using Registry.Scheduler.Tasks;

namespace Registry.Ecs;

/// <summary>
/// The end of each container's output, as the task's agent last sent it (with the final state, and
/// every 30 s while it runs): <c>GET /admin/v1/task-logs/&lt;cluster&gt;/&lt;task id&gt;</c>.
/// </summary>
internal sealed class TaskLogs(IDbContextFactory<RegistryDbContext> dbFactory)
{
    public async Task<IReadOnlyList<ContainerLog>?> FindAsync(string cluster, string taskId, CancellationToken cancellationToken)
    {
        await using var db = await dbFactory.CreateDbContextAsync(cancellationToken);
        var containers = await (from t in db.Tasks
                                join c in db.Clusters on t.ClusterId equals c.Id
                                where c.Name == cluster && t.TaskId == taskId
                                select t.Containers).FirstOrDefaultAsync(cancellationToken);
        return containers is null ? null : TaskContainer.ReadAll(containers).Select(c => new ContainerLog(c.Name, c.LastStatus, c.LogTail ?? "")).ToList();
    }
}

/// <summary>One container's output tail.</summary>
internal sealed record ContainerLog(string Name, string LastStatus, string LogTail);
