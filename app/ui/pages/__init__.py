"""The pages of the main window's middle pane that are more than one widget.

``record_list.py``: the list of one kind with its search and filters. The
review queue and the dashboard are single widgets (``review_queue.py``,
``dashboard.py``), placed by ``ReviewUi`` through ``MainWindow.add_page``.
"""
