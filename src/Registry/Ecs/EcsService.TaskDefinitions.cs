using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Registry.AwsApi;
using Registry.Data.Entities;
using Registry.Scheduler.TaskDefinitions;

namespace Registry.Ecs;

/// <summary>Task definitions: families of numbered revisions, registered, described, listed and deregistered.</summary>
internal sealed partial class EcsService
{
    private async Task<object> RegisterTaskDefinitionAsync(AwsCall call)
    {
        string family;
        JsonObject document;
        try
        {
            (family, document) = TaskDefinitionParser.Parse(call.Body);
        }
        catch (TaskDefinitionException e)
        {
            throw new AwsApiException(e.Type, e.Message);
        }

        await AuthorizeAsync(call, "ecs:RegisterTaskDefinition", TaskDefinitionArn(family, null));
        var tags = call.Tags("tags", "key", "value");
        await using var db = await DbAsync(call);
        var registeredBy = Aws.CallerArn(call.User.Identity!.Name!);
        for (var attempt = 0; ; attempt++)
        {
            var revision = (await db.TaskDefinitions.Where(t => t.Family == family).MaxAsync(t => (int?)t.Revision, call.Context.RequestAborted) ?? 0) + 1;
            document["revision"] = revision;
            document["taskDefinitionArn"] = TaskDefinitionArn(family, revision);
            var entity = new TaskDefinitionEntity
            {
                Family = family,
                Revision = revision,
                Status = "ACTIVE",
                Document = document.ToJsonString(),
                RegisteredAt = DateTime.UtcNow,
                RegisteredBy = registeredBy,
            };
            db.TaskDefinitions.Add(entity);
            try
            {
                await db.SaveChangesAsync(call.Context.RequestAborted);
            }
            catch (DbUpdateException) when (attempt < 5)
            {
                // Another registration took this revision number: take the next.
                db.ChangeTracker.Clear();
                continue;
            }

            if (tags.Count > 0)
            {
                db.ResourceTags.AddRange(tags.Select(t => new ResourceTagEntity { ResourceArn = TaskDefinitionArn(family, revision), Key = t.Key, Value = t.Value }));
                await db.SaveChangesAsync(call.Context.RequestAborted);
            }

            await DurableAsync(call);
            return new { taskDefinition = Describe(entity), tags = tags.Select(t => new Dictionary<string, string> { ["key"] = t.Key, ["value"] = t.Value }).ToList() };
        }
    }

    private async Task<object> DescribeTaskDefinitionAsync(AwsCall call)
    {
        var entity = await FindTaskDefinitionAsync(call, call.Required("taskDefinition"), activeOnly: false);
        await AuthorizeAsync(call, "ecs:DescribeTaskDefinition", TaskDefinitionArn(entity.Family, entity.Revision));
        return new { taskDefinition = Describe(entity) };
    }

    private async Task<object> ListTaskDefinitionsAsync(AwsCall call)
    {
        await AuthorizeAsync(call, "ecs:ListTaskDefinitions", TaskDefinitionArn("*", null));
        var prefix = call.Optional("familyPrefix");
        var status = call.Optional("status") ?? "ACTIVE";
        var descending = (call.Optional("sort") ?? "ASC") switch
        {
            "ASC" => false,
            "DESC" => true,
            _ => throw AwsApiException.InvalidParameter("sort must be ASC or DESC"),
        };
        if (status is not ("ACTIVE" or "INACTIVE"))
        {
            throw AwsApiException.InvalidParameter("status must be ACTIVE or INACTIVE");
        }

        var limit = call.MaxResults(100, 100);
        var skip = call.PageAfter() is { } token ? int.TryParse(token, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : throw AwsApiException.InvalidParameter("nextToken is not a token this API returned") : 0;
        await using var db = await DbAsync(call);
        var query = db.TaskDefinitions.AsNoTracking().Where(t => t.Status == status);
        if (prefix is not null)
        {
            query = query.Where(t => t.Family.StartsWith(prefix));
        }

        query = descending ? query.OrderByDescending(t => t.Family).ThenByDescending(t => t.Revision) : query.OrderBy(t => t.Family).ThenBy(t => t.Revision);
        var rows = await query.Skip(skip).Take(limit + 1).Select(t => new { t.Family, t.Revision }).ToListAsync(call.Context.RequestAborted);
        return new
        {
            taskDefinitionArns = rows.Take(limit).Select(r => TaskDefinitionArn(r.Family, r.Revision)).ToList(),
            nextToken = rows.Count > limit ? AwsCallExtensions.NextToken((skip + limit).ToString(CultureInfo.InvariantCulture)) : null,
        };
    }

    private async Task<object> DeregisterTaskDefinitionAsync(AwsCall call)
    {
        var reference = call.Required("taskDefinition");
        if (!reference.Contains(':', StringComparison.Ordinal))
        {
            throw new AwsApiException("ClientException", "A revision must be named: family:revision or the full ARN.");
        }

        var entity = await FindTaskDefinitionAsync(call, reference, activeOnly: false);
        await AuthorizeAsync(call, "ecs:DeregisterTaskDefinition", TaskDefinitionArn(entity.Family, entity.Revision));
        await using var db = await DbAsync(call);
        var now = DateTime.UtcNow;
        await db.TaskDefinitions.Where(t => t.Id == entity.Id && t.Status == "ACTIVE")
            .ExecuteUpdateAsync(s => s.SetProperty(t => t.Status, "INACTIVE").SetProperty(t => t.DeregisteredAt, now), call.Context.RequestAborted);
        await DurableAsync(call);
        entity.Status = "INACTIVE";
        entity.DeregisteredAt ??= now;
        return new { taskDefinition = Describe(entity) };
    }

    /// <summary>A task definition named as <c>family</c> (its latest active revision), <c>family:revision</c> or its ARN.</summary>
    private static async Task<TaskDefinitionEntity> FindTaskDefinitionAsync(AwsCall call, string reference, bool activeOnly)
    {
        var text = reference.Contains(":task-definition/", StringComparison.Ordinal) ? reference[(reference.IndexOf(":task-definition/", StringComparison.Ordinal) + ":task-definition/".Length)..] : reference;
        var colon = text.LastIndexOf(':');
        var family = colon < 0 ? text : text[..colon];
        int? revision = colon < 0 ? null : int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : throw new AwsApiException("ClientException", $"Invalid revision in '{reference}'.");
        await using var db = await DbAsync(call);
        var query = db.TaskDefinitions.AsNoTracking().Where(t => t.Family == family);
        query = revision is { } number ? query.Where(t => t.Revision == number) : query.Where(t => t.Status == "ACTIVE").OrderByDescending(t => t.Revision);
        if (activeOnly)
        {
            query = query.Where(t => t.Status == "ACTIVE");
        }

        return await query.FirstOrDefaultAsync(call.Context.RequestAborted)
               ?? throw new AwsApiException("ClientException", "Unable to describe task definition.");
    }

    private static JsonObject Describe(TaskDefinitionEntity entity)
    {
        var document = JsonNode.Parse(entity.Document)!.AsObject();
        document["status"] = entity.Status;
        document["registeredAt"] = AwsCallExtensions.Epoch(entity.RegisteredAt);
        document["registeredBy"] = entity.RegisteredBy;
        if (entity.DeregisteredAt is { } deregistered)
        {
            document["deregisteredAt"] = AwsCallExtensions.Epoch(deregistered);
        }

        return document;
    }

    private string TaskDefinitionArn(string family, int? revision) =>
        $"arn:aws:ecs:{Aws.Region}:{Aws.AccountId}:task-definition/{family}{(revision is { } r ? ":" + r.ToString(CultureInfo.InvariantCulture) : "")}";
}
