// Alerts, each with its runbook section in docs/deploy.md ("Alerts").

param location string
param prefix string
param tags object
param workspaceId string
param appName string
param appId string
param actionGroupId string

// Readiness failing for 2 minutes: a replica is out of rotation (a backend it needs is down, or
// the server cannot start). One evaluation a minute over the last minute, firing when 2 in a row fail.
resource readinessFailing 'Microsoft.Insights/scheduledQueryRules@2023-12-01' = {
  name: '${prefix}-readiness-failing'
  location: location
  tags: tags
  properties: {
    displayName: 'sentinel-mcp: readiness probe failing for 2 minutes'
    description: 'A replica of ${appName} has failed its /ready probe for 2 minutes. Runbook: docs/deploy.md#readiness-probe-failing'
    severity: 1
    enabled: true
    scopes: [workspaceId]
    evaluationFrequency: 'PT1M'
    windowSize: 'PT1M'
    criteria: {
      allOf: [
        {
          query: 'ContainerAppSystemLogs | where ContainerAppName == "${appName}" | where Log has "Readiness probe failed"'
          timeAggregation: 'Count'
          operator: 'GreaterThan'
          threshold: 0
          failingPeriods: { numberOfEvaluationPeriods: 2, minFailingPeriodsToAlert: 2 }
        }
      ]
    }
    autoMitigate: true
    actions: { actionGroups: [actionGroupId] }
  }
}

// Containers restarting: the liveness probe failed or the process exited.
resource restarts 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${prefix}-restarts'
  location: 'global'
  tags: tags
  properties: {
    description: 'Replicas of ${appName} restarted. Runbook: docs/deploy.md#replicas-restarting'
    severity: 2
    enabled: true
    scopes: [appId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          name: 'restarts'
          criterionType: 'StaticThresholdCriterion'
          metricName: 'RestartCount'
          metricNamespace: 'Microsoft.App/containerApps'
          operator: 'GreaterThan'
          threshold: 2
          timeAggregation: 'Total'
        }
      ]
    }
    actions: [{ actionGroupId: actionGroupId }]
  }
}

// Server errors at the ingress: 5xx answers from the app.
resource serverErrors 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: '${prefix}-5xx'
  location: 'global'
  tags: tags
  properties: {
    description: '${appName} answered 5xx. Runbook: docs/deploy.md#server-errors'
    severity: 2
    enabled: true
    scopes: [appId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT5M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          name: 'server-errors'
          criterionType: 'StaticThresholdCriterion'
          metricName: 'Requests'
          metricNamespace: 'Microsoft.App/containerApps'
          dimensions: [{ name: 'statusCodeCategory', operator: 'Include', values: ['5xx'] }]
          operator: 'GreaterThan'
          threshold: 10
          timeAggregation: 'Total'
        }
      ]
    }
    actions: [{ actionGroupId: actionGroupId }]
  }
}
