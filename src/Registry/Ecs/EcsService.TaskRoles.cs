using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Registry.AwsApi;
using Registry.Data;
using Registry.Data.Entities;
using Registry.Iam;
using Registry.Scheduler.Tasks;
using Registry.Security.Policies;

namespace Registry.Ecs;

/// <summary>
/// Task roles: a task definition's taskRoleArn (what the task's own AWS calls act as) and
/// executionRoleArn (what its agent pulls the images with). Running a task with a role needs
/// <c>iam:PassRole</c> on it and a role that trusts <c>ecs-tasks.amazonaws.com</c>; agents get each
/// role's temporary credentials with the task in every poll answer, so they are renewed long before
/// they expire.
/// </summary>
internal sealed partial class EcsService
{
    private const string TasksServicePrincipal = "ecs-tasks.amazonaws.com";

    /// <summary>The roles a task runs with: RunTask's overrides, else the task definition's.</summary>
    private static (string? Task, string? Execution) Roles(JsonNode definition, TaskOverrides? overrides) =>
        (overrides?.TaskRoleArn ?? (string?)definition["taskRoleArn"], overrides?.ExecutionRoleArn ?? (string?)definition["executionRoleArn"]);

    /// <summary>RunTask's and CreateService's checks of the task's roles, as ECS makes them.</summary>
    private async Task RequireAssumableRolesAsync(AwsCall call, TaskDefinitionEntity definition, TaskOverrides? overrides = null)
    {
        var (taskRole, executionRole) = Roles(JsonNode.Parse(definition.Document)!, overrides);
        foreach (var arn in new[] { taskRole, executionRole }.OfType<string>().Distinct(StringComparer.Ordinal))
        {
            await AuthorizeAsync(call, "iam:PassRole", arn);
            await using var db = await DbAsync(call);
            if (await AssumableRoleAsync(db, arn, call.Context.RequestAborted) is null)
            {
                throw new AwsApiException("ClientException",
                    $"ECS was unable to assume the role '{arn}' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role.");
            }
        }
    }

    /// <summary>Fresh credentials for the task's role and execution role (each null when the definition names none, or the role cannot be assumed).</summary>
    private async Task<(object? Task, object? Execution)> RoleCredentialsAsync(RegistryDbContext db, RoleSessions sessions, TaskEntity task, JsonNode definition, CancellationToken cancellationToken)
    {
        async Task<object?> IssueAsync(string? arn) =>
            arn is not null && await AssumableRoleAsync(db, arn, cancellationToken) is { } role
                ? Describe(arn, sessions.Issue(role, task.TaskId))
                : null;

        var (taskRole, executionRole) = Roles(definition, TaskOverrides.Read(JsonDocument.Parse(task.Overrides).RootElement));
        return (await IssueAsync(taskRole), await IssueAsync(executionRole));
    }

    private static object Describe(string roleArn, RoleCredentials credentials) => new
    {
        roleArn,
        accessKeyId = credentials.AccessKeyId,
        secretAccessKey = credentials.SecretAccessKey,
        sessionToken = credentials.SessionToken,
        expiration = credentials.Expiration.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The name of the role <paramref name="arn"/> names when it is this account's, exists, and trusts ECS tasks; null otherwise.</summary>
    private async Task<string?> AssumableRoleAsync(RegistryDbContext db, string arn, CancellationToken cancellationToken)
    {
        // Roles here have no paths: anything after the name would be a different ARN from the one
        // iam:PassRole was checked against.
        var prefix = $"arn:aws:iam::{Aws.AccountId}:role/";
        var name = arn.StartsWith(prefix, StringComparison.Ordinal) ? arn[prefix.Length..] : "";
        if (name.Length == 0 || name.Contains('/', StringComparison.Ordinal))
        {
            return null;
        }

        var trust = await db.Roles.AsNoTracking().Where(r => r.Name == name).Select(r => r.TrustPolicy).FirstOrDefaultAsync(cancellationToken);
        return trust is not null && TrustsEcsTasks(trust) ? name : null;
    }

    /// <summary>Whether a trust policy lets ECS tasks assume the role: an Allow of sts:AssumeRole for the service, and no Deny of it.</summary>
    private static bool TrustsEcsTasks(string trustPolicy)
    {
        PolicyDocument policy;
        try
        {
            policy = PolicyParser.Parse(trustPolicy, PolicyKind.Resource);
        }
        catch (PolicyException)
        {
            return false;
        }

        bool Applies(PolicyStatement s) =>
            (s.Principal is { Anyone: true } || (s.Principal?.ByType.TryGetValue("Service", out var services) == true && services.Contains(TasksServicePrincipal, StringComparer.Ordinal)))
            && (s.Action?.Patterns.Any(p => p.Equals("sts:AssumeRole", StringComparison.OrdinalIgnoreCase) || p is "*" || p.Equals("sts:*", StringComparison.OrdinalIgnoreCase)) ?? false);
        return policy.Statements.Any(s => s.Effect == Effect.Allow && Applies(s)) && !policy.Statements.Any(s => s.Effect == Effect.Deny && Applies(s));
    }
}
