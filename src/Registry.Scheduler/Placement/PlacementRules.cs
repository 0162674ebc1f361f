namespace Registry.Scheduler.Placement;

/// <summary>ECS's placementStrategy entry: binpack (cpu|memory), spread (instanceId|host|attribute:x) or random.</summary>
public sealed record PlacementStrategy(string Type, string? Field)
{
    public static PlacementStrategy Create(string type, string? field) => type switch
    {
        "binpack" when field is "cpu" or "memory" => new(type, field),
        "binpack" => throw new PlacementException("binpack's field must be cpu or memory."),
        "spread" when field is { Length: > 0 } => new(type, field),
        "spread" => throw new PlacementException("spread needs a field: instanceId, host or attribute:<name>."),
        "random" => new(type, null),
        _ => throw new PlacementException($"Unknown placement strategy type '{type}': binpack, spread or random."),
    };
}

/// <summary>ECS's placementConstraints entry: distinctInstance, or memberOf with a cluster query expression.</summary>
public sealed record PlacementConstraint(string Type, MemberOfExpression? Expression)
{
    public static PlacementConstraint Create(string type, string? expression) => type switch
    {
        "distinctInstance" when expression is null => new(type, null),
        "distinctInstance" => throw new PlacementException("distinctInstance takes no expression."),
        "memberOf" when expression is { Length: > 0 } => new(type, MemberOfExpression.Parse(expression)),
        "memberOf" => throw new PlacementException("memberOf needs an expression."),
        _ => throw new PlacementException($"Unknown placement constraint type '{type}': distinctInstance or memberOf."),
    };
}

/// <summary>A placement strategy or constraint ECS would refuse (InvalidParameterException).</summary>
public sealed class PlacementException : Exception
{
    public PlacementException()
    {
    }

    public PlacementException(string message)
        : base(message)
    {
    }

    public PlacementException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
