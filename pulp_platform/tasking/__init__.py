"""Running operations as tasks, one at a time per resource, on celery workers.

How a task flows::

    API process                          broker (sqlite / redis)        worker process (thread pool)
    dispatch(): TaskStatus "waiting"  ->  message "pulp.run_task" -> runner.execute(task_id):
      (sequence number from counters)                                   claim: worker_name = me
                                                                        reserve resource (FIFO by
                                                                          sequence) or re-queue
                                                                        "running" -> operation(ctx, **args)
                                                                        "finished" | "error" | "canceled"
                                                                        release the resource

Task state lives only in the database (``task_status``); celery just carries "run task X". Every step
that changes a task's state is a conditional update on its current state, so duplicate or late
messages, cancellation and the dead-worker reaper can race without corrupting a report.
"""
