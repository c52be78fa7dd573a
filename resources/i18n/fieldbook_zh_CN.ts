<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>Attachments</name>
    <message>
        <source>Photos and documents ({patterns})</source>
        <translation>照片和文档 ({patterns})</translation>
    </message>
    <message>
        <source>An unexpected error stopped it.</source>
        <translation>发生了意外错误。</translation>
    </message>
    <message>
        <source>{count} bytes</source>
        <translation>{count} 字节</translation>
    </message>
    <message>
        <source>{done} of {total} {unit}</source>
        <translation>{done} / {total} {unit}</translation>
    </message>
</context>
<context>
    <name>AttachmentsStrip</name>
    <message>
        <source>Attach…</source>
        <translation>添加附件…</translation>
    </message>
    <message>
        <source>Attach photos or documents to this record. You can also drop files onto the editor.</source>
        <translation>为这条记录添加照片或文档。也可以把文件直接拖到编辑区。</translation>
    </message>
    <message>
        <source>Open</source>
        <translation>打开</translation>
    </message>
    <message>
        <source>Remove</source>
        <translation>移除</translation>
    </message>
    <message>
        <source>Remove the selected file from this record (Undo brings it back).</source>
        <translation>从这条记录中移除所选文件（可以撤销）。</translation>
    </message>
    <message>
        <source>Attach files</source>
        <translation>添加附件</translation>
    </message>
    <message>
        <source>Files cannot be attached to this record.</source>
        <translation>无法为这条记录添加附件。</translation>
    </message>
    <message>
        <source>“{name}” was not attached: {reason}</source>
        <translation>“{name}”未能添加：{reason}</translation>
    </message>
    <message>
        <source>“{name}” was not removed: {reason}</source>
        <translation>“{name}”未能移除：{reason}</translation>
    </message>
    <message>
        <source>“{name}” is not on this computer yet. Sign in to download it.</source>
        <translation>“{name}”还不在这台电脑上。请登录后下载。</translation>
    </message>
    <message>
        <source>No program on this computer could open “{name}”.</source>
        <translation>这台电脑上没有能打开“{name}”的程序。</translation>
    </message>
    <message>
        <source>“{name}” could not be opened: {reason}</source>
        <translation>无法打开“{name}”：{reason}</translation>
    </message>
    <message>
        <source>“{name}” could not be downloaded: {reason}</source>
        <translation>无法下载“{name}”：{reason}</translation>
    </message>
    <message>
        <source>Uploading {percent}%</source>
        <translation>上传中 {percent}%</translation>
    </message>
    <message>
        <source>Downloading {percent}%</source>
        <translation>下载中 {percent}%</translation>
    </message>
    <message>
        <source>Downloading…</source>
        <translation>下载中…</translation>
    </message>
    <message>
        <source>Download failed</source>
        <translation>下载失败</translation>
    </message>
    <message>
        <source>Not downloaded yet</source>
        <translation>尚未下载</translation>
    </message>
    <message>
        <source>Not uploaded</source>
        <translation>未能上传</translation>
    </message>
    <message>
        <source>Waiting to upload</source>
        <translation>等待上传</translation>
    </message>
    <message>
        <source>Downloaded</source>
        <translation>已下载</translation>
    </message>
    <message>
        <source>Uploaded</source>
        <translation>已上传</translation>
    </message>
    <message>
        <source>Attachments ({count})</source>
        <translation>附件（{count}）</translation>
    </message>
    <message>
        <source>Attachments</source>
        <translation>附件</translation>
    </message>
    <message>
        <source>Attaching {count} files…</source>
        <translation>正在添加 {count} 个文件…</translation>
    </message>
    <message>
        <source>Attaching a file…</source>
        <translation>正在添加文件…</translation>
    </message>
    <message>
        <source>No files attached.</source>
        <translation>没有附件。</translation>
    </message>
    <message>
        <source>Drop photos or documents here, or choose Attach…</source>
        <translation>把照片或文档拖到这里，或点击“添加附件…”</translation>
    </message>
</context>
<context>
    <name>AttachmentsUi</name>
    <message>
        <source>Attach “{name}”</source>
        <translation>添加附件“{name}”</translation>
    </message>
    <message>
        <source>Remove “{name}”</source>
        <translation>移除附件“{name}”</translation>
    </message>
    <message>
        <source>Could not undo: {error}</source>
        <translation>无法撤销：{error}</translation>
    </message>
</context>
<context>
    <name>BackgroundStatus</name>
    <message>
        <source>Next try at {time}.</source>
        <translation>将于 {time} 再次尝试。</translation>
    </message>
</context>
<context>
    <name>Choice</name>
    <message>
        <source>Draft</source>
        <translation>草稿</translation>
    </message>
    <message>
        <source>Submitted</source>
        <translation>已提交</translation>
    </message>
    <message>
        <source>Approved</source>
        <translation>已通过</translation>
    </message>
    <message>
        <source>Returned</source>
        <translation>已退回</translation>
    </message>
    <message>
        <source>Chinese</source>
        <translation>语文</translation>
    </message>
    <message>
        <source>Mathematics</source>
        <translation>数学</translation>
    </message>
    <message>
        <source>English</source>
        <translation>英语</translation>
    </message>
    <message>
        <source>Science</source>
        <translation>科学</translation>
    </message>
    <message>
        <source>Morality and Law</source>
        <translation>道德与法治</translation>
    </message>
    <message>
        <source>Music</source>
        <translation>音乐</translation>
    </message>
    <message>
        <source>Art</source>
        <translation>美术</translation>
    </message>
    <message>
        <source>Physical Education</source>
        <translation>体育</translation>
    </message>
    <message>
        <source>Information Technology</source>
        <translation>信息技术</translation>
    </message>
    <message>
        <source>Other</source>
        <translation>其他</translation>
    </message>
    <message>
        <source>Summer institute</source>
        <translation>暑期集训</translation>
    </message>
    <message>
        <source>Workshop</source>
        <translation>工作坊</translation>
    </message>
    <message>
        <source>Online course</source>
        <translation>网络课程</translation>
    </message>
    <message>
        <source>School-based teaching research</source>
        <translation>校本教研</translation>
    </message>
    <message>
        <source>Mentoring or observation</source>
        <translation>师徒带教/观摩</translation>
    </message>
    <message>
        <source>Exchange visit</source>
        <translation>交流访问</translation>
    </message>
    <message>
        <source>Job shadowing</source>
        <translation>跟岗</translation>
    </message>
    <message>
        <source>Co-taught or parallel lesson</source>
        <translation>同课异构</translation>
    </message>
    <message>
        <source>Lesson observation and critique</source>
        <translation>听课评课</translation>
    </message>
    <message>
        <source>Student pairing activity</source>
        <translation>手拉手</translation>
    </message>
    <message>
        <source>Teacher rotation</source>
        <translation>教师轮岗</translation>
    </message>
    <message>
        <source>We visited</source>
        <translation>我方前往</translation>
    </message>
    <message>
        <source>They visited</source>
        <translation>对方来访</translation>
    </message>
    <message>
        <source>Online</source>
        <translation>线上</translation>
    </message>
    <message>
        <source>Preschool</source>
        <translation>学前</translation>
    </message>
    <message>
        <source>Grade 1</source>
        <translation>一年级</translation>
    </message>
    <message>
        <source>Grade 2</source>
        <translation>二年级</translation>
    </message>
    <message>
        <source>Grade 3</source>
        <translation>三年级</translation>
    </message>
    <message>
        <source>Grade 4</source>
        <translation>四年级</translation>
    </message>
    <message>
        <source>Grade 5</source>
        <translation>五年级</translation>
    </message>
    <message>
        <source>Grade 6</source>
        <translation>六年级</translation>
    </message>
    <message>
        <source>Grade 7</source>
        <translation>七年级</translation>
    </message>
    <message>
        <source>Grade 8</source>
        <translation>八年级</translation>
    </message>
    <message>
        <source>Grade 9</source>
        <translation>九年级</translation>
    </message>
    <message>
        <source>Senior 1</source>
        <translation>高一</translation>
    </message>
    <message>
        <source>Senior 2</source>
        <translation>高二</translation>
    </message>
    <message>
        <source>Senior 3</source>
        <translation>高三</translation>
    </message>
</context>
<context>
    <name>CollectDialog</name>
    <message>
        <source>Fellows nearby</source>
        <translation>附近的学员</translation>
    </message>
    <message>
        <source>Laptops on this Wi-Fi or hotspot that turned sharing on are listed here. Choose one and type the code on its screen: you take the fellow&apos;s work to the server, and your comments reach them at once.</source>
        <translation>在同一 Wi-Fi 或热点上、已开启共享的电脑会列在这里。选一台，输入它屏幕上的配对码：您替学员把工作带给服务器，您的评语也立刻送到学员那里。</translation>
    </message>
    <message>
        <source>No one is sharing nearby yet</source>
        <translation>附近还没有人在共享</translation>
    </message>
    <message>
        <source>Ask the fellow to open File → Share with a trainer nearby… and start sharing, on the same Wi-Fi or hotspot as this laptop.</source>
        <translation>请学员打开 文件 → 与附近的培训师共享…，在与这台电脑相同的 Wi-Fi 或热点上开始共享。</translation>
    </message>
    <message>
        <source>Not in the list? Type the address on the fellow&apos;s screen…</source>
        <translation>列表里没有？输入学员屏幕上显示的地址…</translation>
    </message>
    <message>
        <source>&amp;Address:</source>
        <translation>地址(&amp;A)：</translation>
    </message>
    <message>
        <source>as shown on the fellow&apos;s screen, e.g. 192.168.43.27:53211</source>
        <translation>按学员屏幕上显示的输入，例如 192.168.43.27:53211</translation>
    </message>
    <message>
        <source>&amp;Find</source>
        <translation>查找(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Code:</source>
        <translation>配对码(&amp;C)：</translation>
    </message>
    <message>
        <source>the 6 digits on the fellow&apos;s screen</source>
        <translation>学员屏幕上的 6 位数字</translation>
    </message>
    <message>
        <source>&amp;Exchange</source>
        <translation>交换(&amp;E)</translation>
    </message>
    <message>
        <source>&amp;Deliver now</source>
        <translation>立即送达(&amp;D)</translation>
    </message>
    <message>
        <source>Send the parcels you carry to the server now</source>
        <translation>现在把您带着的同步包送到服务器</translation>
    </message>
    <message>
        <source>Could not look for laptops nearby</source>
        <translation>无法查找附近的电脑</translation>
    </message>
    <message>
        <source>Type the address as the fellow&apos;s screen shows it, for example 192.168.43.27:53211.</source>
        <translation>请按学员屏幕上显示的样子输入地址，例如 192.168.43.27:53211。</translation>
    </message>
    <message>
        <source>No laptop is sharing at that address</source>
        <translation>这个地址上没有正在共享的电脑</translation>
    </message>
    <message>
        <source>A laptop sharing nearby ({address})</source>
        <translation>附近正在共享的电脑（{address}）</translation>
    </message>
    <message>
        <source>Delivering the parcels you carry…</source>
        <translation>正在送达您带着的同步包…</translation>
    </message>
    <message>
        <source>You carry {outgoing} parcel(s) to deliver and {answers} answer(s) to hand back. Parcels go to the server at your next sync, or now.</source>
        <translation>您带着 {outgoing} 个待送达的同步包、{answers} 个待交回的回执包。同步包会在下次同步时送到服务器，也可以现在送达。</translation>
    </message>
    <message>
        <source>You carry nothing for anyone now.</source>
        <translation>您现在没有替任何人带东西。</translation>
    </message>
    <message>
        <source>{what}: {why}</source>
        <translation>{what}：{why}</translation>
    </message>
    <message>
        <source>Exchanging with that laptop…</source>
        <translation>正在与那台电脑交换…</translation>
    </message>
    <message>
        <source>{name} · exchanged at {time}</source>
        <translation>{name} · {time} 已交换</translation>
    </message>
    <message>
        <source>Refused by that laptop: {why}</source>
        <translation>那台电脑拒收：{why}</translation>
    </message>
    <message>
        <source>Could not exchange</source>
        <translation>无法交换</translation>
    </message>
    <message>
        <source>Took {name}&apos;s work; it goes to the server at your next sync.</source>
        <translation>已收下{name}的工作，下次同步时送到服务器。</translation>
    </message>
    <message>
        <source>Handed back {count} answer(s) from the server: the fellow is synced by parcel.</source>
        <translation>已交回 {count} 个服务器回执：学员已通过同步包同步。</translation>
    </message>
    <message>
        <source>Handed over {count} of your comment(s) and decision(s).</source>
        <translation>已交给对方 {count} 条您的评语和审阅决定。</translation>
    </message>
    <message>
        <source>Sign in on this laptop to deliver the parcels you carry; they are kept until then.</source>
        <translation>请在这台电脑上登录后再送达您带着的同步包；在此之前它们会一直保留。</translation>
    </message>
    <message>
        <source>Could not deliver</source>
        <translation>无法送达</translation>
    </message>
    <message>
        <source>Delivered {count} parcel(s); their answers go back at your next visit.</source>
        <translation>已送达 {count} 个同步包；回执在您下次探访时交回。</translation>
    </message>
    <message>
        <source>{count} parcel(s) were refused by the server and dropped.</source>
        <translation>{count} 个同步包被服务器拒收，已丢弃。</translation>
    </message>
</context>
<context>
    <name>ConflictPanel</name>
    <message>
        <source>⚠ 1 conflict: this field was changed on two computers at the same time.</source>
        <translation>⚠ 1 处冲突：这个字段同时在两台电脑上被修改了。</translation>
    </message>
    <message>
        <source>⚠ {count} conflicts: these fields were changed on two computers at the same time.</source>
        <translation>⚠ {count} 处冲突：这些字段同时在两台电脑上被修改了。</translation>
    </message>
    <message>
        <source>{caption}: {value}</source>
        <translation>{caption}：{value}</translation>
    </message>
    <message>
        <source>Your value</source>
        <translation>您的值</translation>
    </message>
    <message>
        <source>Value now</source>
        <translation>当前值</translation>
    </message>
    <message>
        <source>Other value</source>
        <translation>另一个值</translation>
    </message>
    <message>
        <source>Your earlier value</source>
        <translation>您之前的值</translation>
    </message>
    <message>
        <source>Keep this</source>
        <translation>保留此值</translation>
    </message>
    <message>
        <source>Keep the value the record has now and close this conflict.</source>
        <translation>保留记录中现在的值，并关闭这个冲突。</translation>
    </message>
    <message>
        <source>Restore the other value</source>
        <translation>恢复另一个值</translation>
    </message>
    <message>
        <source>Restore your earlier value</source>
        <translation>恢复您之前的值</translation>
    </message>
    <message>
        <source>Put the other value back. It is sent to the server like any edit.</source>
        <translation>把另一个值放回去。它会像其他修改一样发送到服务器。</translation>
    </message>
    <message>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <source>The server did not accept your change to {fields}: {reason}</source>
        <translation>服务器没有接受您对{fields}的修改：{reason}</translation>
    </message>
    <message>
        <source>The server did not accept your change: {reason}</source>
        <translation>服务器没有接受您的修改：{reason}</translation>
    </message>
    <message>
        <source>Dismiss</source>
        <translation>知道了</translation>
    </message>
    <message>
        <source>{what}: {error}</source>
        <translation>{what}：{error}</translation>
    </message>
    <message>
        <source>Could not resolve the conflict</source>
        <translation>无法处理这个冲突</translation>
    </message>
    <message>
        <source>Could not dismiss the message</source>
        <translation>无法关闭这条消息</translation>
    </message>
</context>
<context>
    <name>Conflicts</name>
    <message>
        <source>Deleted</source>
        <translation>已删除</translation>
    </message>
    <message>
        <source>Not deleted</source>
        <translation>未删除</translation>
    </message>
    <message>
        <source>(empty)</source>
        <translation>（空）</translation>
    </message>
    <message>
        <source>Yes</source>
        <translation>是</translation>
    </message>
    <message>
        <source>No</source>
        <translation>否</translation>
    </message>
    <message>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <source>{count} steps: {phases}</source>
        <translation>{count} 个环节：{phases}</translation>
    </message>
    <message>
        <source>{count} files: {names}</source>
        <translation>{count} 个文件：{names}</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
</context>
<context>
    <name>DashboardModel</name>
    <message>
        <source>Fellow</source>
        <translation>学员</translation>
    </message>
    <message>
        <source>School</source>
        <translation>学校</translation>
    </message>
    <message>
        <source>Lesson plans submitted</source>
        <translation>已提交教案</translation>
    </message>
    <message>
        <source>Approved</source>
        <translation>已通过</translation>
    </message>
    <message>
        <source>Returned</source>
        <translation>已退回</translation>
    </message>
    <message>
        <source>Waiting</source>
        <translation>待审阅</translation>
    </message>
    <message>
        <source>Training hours</source>
        <translation>培训学时</translation>
    </message>
    <message>
        <source>Exchange activities</source>
        <translation>交流活动</translation>
    </message>
    <message>
        <source>Waiting &gt; {days} days</source>
        <translation>待审阅超过 {days} 天</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>合计</translation>
    </message>
</context>
<context>
    <name>DashboardPage</name>
    <message>
        <source>Dashboard</source>
        <translation>数据概览</translation>
    </message>
    <message>
        <source>Cohort:</source>
        <translation>期次：</translation>
    </message>
    <message>
        <source>Fellow:</source>
        <translation>学员：</translation>
    </message>
    <message>
        <source>From:</source>
        <translation>从：</translation>
    </message>
    <message>
        <source>To:</source>
        <translation>到：</translation>
    </message>
    <message>
        <source>Waiting longer than:</source>
        <translation>等待超过：</translation>
    </message>
    <message>
        <source>“—” means any date</source>
        <translation>“—”表示不限日期</translation>
    </message>
    <message>
        <source> days</source>
        <translation> 天</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>导出 CSV…</translation>
    </message>
    <message>
        <source>Save these figures as a spreadsheet file (CSV)</source>
        <translation>将这些数据保存为表格文件（CSV）</translation>
    </message>
    <message>
        <source>Nothing to show for these filters.</source>
        <translation>当前筛选条件下没有数据。</translation>
    </message>
    <message>
        <source>No figures yet</source>
        <translation>还没有统计数据</translation>
    </message>
    <message>
        <source>The dashboard counts lesson plans handed in for review, training hours and exchanges. Submit a record, or sync to bring in your cohort&apos;s records.</source>
        <translation>数据概览统计已提交审阅的教案、培训学时和交流活动。提交一份记录，或同步以获取本期学员的记录。</translation>
    </message>
    <message>
        <source>Sync now</source>
        <translation>立即同步</translation>
    </message>
    <message>
        <source>All cohorts</source>
        <translation>全部期次</translation>
    </message>
    <message>
        <source>All fellows</source>
        <translation>全部学员</translation>
    </message>
    <message>
        <source>Could not compute the figures: {error}</source>
        <translation>无法统计数据：{error}</translation>
    </message>
    <message>
        <source>{submitted} lesson plans submitted, {approved} approved, {returned} returned; {hours} training hours; {exchanges} exchange activities; {stale} reviews waiting longer than {days} days.</source>
        <translation>已提交教案 {submitted} 份，通过 {approved} 份，退回 {returned} 份；培训 {hours} 学时；交流活动 {exchanges} 次；{stale} 份等待审阅超过 {days} 天。</translation>
    </message>
    <message>
        <source>Lesson plans per fellow</source>
        <translation>各学员教案</translation>
    </message>
    <message>
        <source>Submitted</source>
        <translation>已提交</translation>
    </message>
    <message>
        <source>Approved</source>
        <translation>已通过</translation>
    </message>
    <message>
        <source>Returned</source>
        <translation>已退回</translation>
    </message>
    <message>
        <source>Training hours per fellow</source>
        <translation>各学员培训学时</translation>
    </message>
    <message>
        <source>Hours</source>
        <translation>学时</translation>
    </message>
    <message>
        <source>Exchange activities by type</source>
        <translation>各类交流活动</translation>
    </message>
    <message>
        <source>Activities</source>
        <translation>活动次数</translation>
    </message>
    <message>
        <source>Export the dashboard</source>
        <translation>导出数据概览</translation>
    </message>
    <message>
        <source>dashboard.csv</source>
        <translation>数据概览.csv</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <source>Saved the dashboard to {path}</source>
        <translation>数据概览已保存到 {path}</translation>
    </message>
    <message>
        <source>Could not save the dashboard: {error}</source>
        <translation>无法保存数据概览：{error}</translation>
    </message>
</context>
<context>
    <name>Document</name>
    <message>
        <source>Lesson topic</source>
        <translation>课题</translation>
    </message>
    <message>
        <source>Teacher</source>
        <translation>执教者</translation>
    </message>
    <message>
        <source>Recorded by</source>
        <translation>记录人</translation>
    </message>
    <message>
        <source>School</source>
        <translation>学校</translation>
    </message>
    <message>
        <source>Yes</source>
        <translation>是</translation>
    </message>
    <message>
        <source>No</source>
        <translation>否</translation>
    </message>
    <message>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <source>Total</source>
        <translation>合计</translation>
    </message>
    <message>
        <source>Page {page} of {pages}</source>
        <translation>第 {page} 页，共 {pages} 页</translation>
    </message>
    <message>
        <source>Review</source>
        <translation>审阅记录</translation>
    </message>
    <message>
        <source>Status: {status}</source>
        <translation>状态：{status}</translation>
    </message>
    <message>
        <source>Decision: {decision}</source>
        <translation>审阅结论：{decision}</translation>
    </message>
    <message>
        <source>(not applied: {reason})</source>
        <translation>（未生效：{reason}）</translation>
    </message>
    <message>
        <source>No review entries yet.</source>
        <translation>尚无审阅记录。</translation>
    </message>
    <message>
        <source>Untitled</source>
        <translation>无标题</translation>
    </message>
    <message>
        <source>Submitted for review</source>
        <translation>提交审阅</translation>
    </message>
    <message>
        <source>Withdrew the submission</source>
        <translation>撤回提交</translation>
    </message>
    <message>
        <source>Approved</source>
        <translation>通过</translation>
    </message>
    <message>
        <source>Returned for revision</source>
        <translation>退回修改</translation>
    </message>
    <message>
        <source>Comment</source>
        <translation>评论</translation>
    </message>
</context>
<context>
    <name>DocumentActions</name>
    <message>
        <source>&amp;Export as Word…</source>
        <translation>导出为 Word(&amp;E)…</translation>
    </message>
    <message>
        <source>Export as P&amp;DF…</source>
        <translation>导出为 PDF(&amp;D)…</translation>
    </message>
    <message>
        <source>P&amp;rint…</source>
        <translation>打印(&amp;R)…</translation>
    </message>
    <message>
        <source>Export the &amp;list…</source>
        <translation>导出列表(&amp;L)…</translation>
    </message>
    <message>
        <source>Export every record the list shows, as Word or PDF</source>
        <translation>将列表中的全部记录导出为 Word 或 PDF</translation>
    </message>
    <message>
        <source>Word documents (*.docx)</source>
        <translation>Word 文档 (*.docx)</translation>
    </message>
    <message>
        <source>PDF documents (*.pdf)</source>
        <translation>PDF 文档 (*.pdf)</translation>
    </message>
    <message>
        <source>Zip archives (*.zip)</source>
        <translation>Zip 压缩包 (*.zip)</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Open a record first.</source>
        <translation>请先打开一条记录。</translation>
    </message>
    <message>
        <source>The list is empty: nothing to export.</source>
        <translation>列表为空，没有可导出的记录。</translation>
    </message>
    <message>
        <source>Export the list</source>
        <translation>导出列表</translation>
    </message>
    <message>
        <source>Export the records the list shows as:</source>
        <translation>将列表中的记录导出为：</translation>
    </message>
    <message>
        <source>&amp;Word</source>
        <translation>Word(&amp;W)</translation>
    </message>
    <message>
        <source>&amp;PDF</source>
        <translation>PDF(&amp;P)</translation>
    </message>
    <message>
        <source>Exported {count} record(s) to {path}</source>
        <translation>已将 {count} 条记录导出到 {path}</translation>
    </message>
    <message>
        <source>Export cancelled; nothing was written.</source>
        <translation>导出已取消，未写入任何文件。</translation>
    </message>
    <message>
        <source>{kind} ({count})</source>
        <translation>{kind}（{count} 条）</translation>
    </message>
    <message>
        <source>Writing the document…</source>
        <translation>正在生成文档…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Could not export: {error}. Nothing was written.</source>
        <translation>无法导出：{error}。未写入任何文件。</translation>
    </message>
</context>
<context>
    <name>DocumentImport</name>
    <message>
        <source>This file cannot be read as a Word document.</source>
        <translation>无法把这个文件当作 Word 文档读取。</translation>
    </message>
    <message>
        <source>This is an old Word document (.doc). Open it in Word or WPS, save it as .docx, and import that file.</source>
        <translation>这是旧版 Word 文档（.doc）。请用 Word 或 WPS 打开，另存为 .docx，再导入那个文件。</translation>
    </message>
    <message>
        <source>This document is protected by a password. Save a copy without the password and import that.</source>
        <translation>这个文档设有密码。请另存一份不带密码的副本，再导入它。</translation>
    </message>
    <message>
        <source>This file is empty.</source>
        <translation>这个文件是空的。</translation>
    </message>
    <message>
        <source>This file is not a Word document (.docx).</source>
        <translation>这个文件不是 Word 文档（.docx）。</translation>
    </message>
    <message>
        <source>This Word document is damaged and cannot be read.</source>
        <translation>这个 Word 文档已损坏，无法读取。</translation>
    </message>
    <message>
        <source>This file cannot be opened (it may have been moved, or you may not have permission to read it).</source>
        <translation>无法打开这个文件（它可能已被移走，或者您没有读取权限）。</translation>
    </message>
    <message>
        <source>This file is too large to be one lesson plan.</source>
        <translation>这个文件太大，不像是一份教案。</translation>
    </message>
    <message>
        <source>“{text}” is not a grade or subject Fieldbook knows: it is kept in the notes.</source>
        <translation>“{text}”不是田野手册认识的年级或学科，已保留在其他备注中。</translation>
    </message>
    <message>
        <source>No title found: the file name is used.</source>
        <translation>没有找到课题，已用文件名作课题。</translation>
    </message>
    <message>
        <source>More than {max} steps: the rest are in the notes.</source>
        <translation>教学过程超过 {max} 个环节，其余环节已放入其他备注。</translation>
    </message>
    <message>
        <source>“{field}” is too long for its field: it is in the notes.</source>
        <translation>“{field}”的内容超出该栏的长度，已放入其他备注。</translation>
    </message>
    <message>
        <source>The document has no text: the draft will be empty.</source>
        <translation>文档中没有文字，草稿将是空的。</translation>
    </message>
    <message>
        <source>Some of its text would be lost: {count} passages fit no field.</source>
        <translation>有 {count} 段文字无处安放，导入会丢失内容。</translation>
    </message>
    <message>
        <source>{label}: {text}</source>
        <translation>{label}：{text}</translation>
    </message>
    <message>
        <source> ({minutes} min)</source>
        <translation>（{minutes} 分钟）</translation>
    </message>
</context>
<context>
    <name>EditorPane</name>
    <message>
        <source>Choose a record, or start a new one</source>
        <translation>选择一条记录，或新建一条</translation>
    </message>
    <message>
        <source>Pick a record in the list to read or edit it. What you type is saved on this computer as you go.</source>
        <translation>在列表中选择一条记录即可查看或编辑。输入的内容会随时保存在这台电脑上。</translation>
    </message>
    <message>
        <source>Record editor</source>
        <translation>记录编辑区</translation>
    </message>
</context>
<context>
    <name>ExportDialog</name>
    <message>
        <source>Export options</source>
        <translation>导出选项</translation>
    </message>
    <message>
        <source>Include the &amp;review thread (comments and the decision)</source>
        <translation>包含审阅记录（评论和审阅结论）(&amp;R)</translation>
    </message>
    <message>
        <source>Mark drafts with a “Draft” &amp;watermark</source>
        <translation>为草稿加“草稿”水印(&amp;W)</translation>
    </message>
    <message>
        <source>Place attached &amp;images in the document</source>
        <translation>在文档中插入附件中的图片(&amp;I)</translation>
    </message>
    <message>
        <source>Leave empty for no page header</source>
        <translation>留空则不加页眉</translation>
    </message>
    <message>
        <source>&amp;School in the page header:</source>
        <translation>页眉中的学校(&amp;S)：</translation>
    </message>
    <message>
        <source>One &amp;combined document</source>
        <translation>合并为一个文档(&amp;C)</translation>
    </message>
    <message>
        <source>A &amp;zip with one file per record</source>
        <translation>打包为 zip，每条记录一个文件(&amp;Z)</translation>
    </message>
</context>
<context>
    <name>Field</name>
    <message>
        <source>Phase</source>
        <translation>环节</translation>
    </message>
    <message>
        <source>Minutes</source>
        <translation>分钟</translation>
    </message>
    <message>
        <source>Teacher activity</source>
        <translation>教师活动</translation>
    </message>
    <message>
        <source>Student activity</source>
        <translation>学生活动</translation>
    </message>
    <message>
        <source>Attachments</source>
        <translation>附件</translation>
    </message>
    <message>
        <source>Title</source>
        <translation>标题</translation>
    </message>
    <message>
        <source>Subject</source>
        <translation>学科</translation>
    </message>
    <message>
        <source>Grade</source>
        <translation>年级</translation>
    </message>
    <message>
        <source>Class</source>
        <translation>班级</translation>
    </message>
    <message>
        <source>Planned date</source>
        <translation>计划日期</translation>
    </message>
    <message>
        <source>Duration</source>
        <translation>时长</translation>
    </message>
    <message>
        <source>min</source>
        <translation>分钟</translation>
    </message>
    <message>
        <source>Unit or textbook section</source>
        <translation>单元/课文</translation>
    </message>
    <message>
        <source>Learning objectives</source>
        <translation>教学目标</translation>
    </message>
    <message>
        <source>Key points and difficulties</source>
        <translation>教学重难点</translation>
    </message>
    <message>
        <source>Materials and resources</source>
        <translation>教学资源</translation>
    </message>
    <message>
        <source>Procedure</source>
        <translation>教学过程</translation>
    </message>
    <message>
        <source>Assessment</source>
        <translation>评价</translation>
    </message>
    <message>
        <source>Homework</source>
        <translation>作业</translation>
    </message>
    <message>
        <source>Post-lesson reflection</source>
        <translation>教学反思</translation>
    </message>
    <message>
        <source>Other notes</source>
        <translation>其他备注</translation>
    </message>
    <message>
        <source>Tags</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Template name</source>
        <translation>模板名称</translation>
    </message>
    <message>
        <source>Shared with my cohorts</source>
        <translation>与我培训的期次共享</translation>
    </message>
    <message>
        <source>Type</source>
        <translation>类型</translation>
    </message>
    <message>
        <source>Provider or trainer</source>
        <translation>主办方/培训者</translation>
    </message>
    <message>
        <source>Start date</source>
        <translation>开始日期</translation>
    </message>
    <message>
        <source>End date</source>
        <translation>结束日期</translation>
    </message>
    <message>
        <source>Hours</source>
        <translation>学时</translation>
    </message>
    <message>
        <source>Location</source>
        <translation>地点</translation>
    </message>
    <message>
        <source>Online</source>
        <translation>线上</translation>
    </message>
    <message>
        <source>Topics</source>
        <translation>主题</translation>
    </message>
    <message>
        <source>Key takeaways</source>
        <translation>主要收获</translation>
    </message>
    <message>
        <source>Action plan</source>
        <translation>行动计划</translation>
    </message>
    <message>
        <source>Partner school</source>
        <translation>结对学校</translation>
    </message>
    <message>
        <source>Direction</source>
        <translation>方式</translation>
    </message>
    <message>
        <source>Date</source>
        <translation>日期</translation>
    </message>
    <message>
        <source>Duration (hours)</source>
        <translation>时长（小时）</translation>
    </message>
    <message>
        <source>Participating teachers</source>
        <translation>参与教师数</translation>
    </message>
    <message>
        <source>Participating students</source>
        <translation>参与学生数</translation>
    </message>
    <message>
        <source>Activities</source>
        <translation>活动内容</translation>
    </message>
    <message>
        <source>Observations</source>
        <translation>观察与发现</translation>
    </message>
    <message>
        <source>Outcomes and follow-ups</source>
        <translation>成果与后续</translation>
    </message>
</context>
<context>
    <name>ImportPreviewDialog</name>
    <message>
        <source>Import from Word</source>
        <translation>从 Word 导入</translation>
    </message>
    <message>
        <source>Check where each part of the document will go. Nothing is stored until you choose Import; each file becomes a draft lesson plan.</source>
        <translation>请核对文档各部分将放入哪一栏。选择“导入”之前不会保存任何内容；每个文件会成为一份教案草稿。</translation>
    </message>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>结果</translation>
    </message>
    <message>
        <source>Field</source>
        <translation>栏目</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>内容</translation>
    </message>
    <message>
        <source>&amp;Import</source>
        <translation>导入(&amp;I)</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Refused: {reason}</source>
        <translation>未导入：{reason}</translation>
    </message>
    <message>
        <source>Ready to import</source>
        <translation>可以导入</translation>
    </message>
    <message>
        <source>Imported</source>
        <translation>已导入</translation>
    </message>
    <message>
        <source>Importing…</source>
        <translation>正在导入…</translation>
    </message>
    <message>
        <source>{done} imported, {refused} not imported.</source>
        <translation>已导入 {done} 个，未导入 {refused} 个。</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
</context>
<context>
    <name>Kind</name>
    <message>
        <source>Lesson plans</source>
        <translation>教案</translation>
    </message>
    <message>
        <source>Lesson plan</source>
        <translation>教案</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>培训记录</translation>
    </message>
    <message>
        <source>Training record</source>
        <translation>培训记录</translation>
    </message>
    <message>
        <source>Exchanges</source>
        <translation>交流记录</translation>
    </message>
    <message>
        <source>Exchange log</source>
        <translation>交流记录</translation>
    </message>
    <message>
        <source>Lesson plan templates</source>
        <translation>教案模板</translation>
    </message>
    <message>
        <source>Lesson plan template</source>
        <translation>教案模板</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Fieldbook</source>
        <translation>田野手册</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;Edit</source>
        <translation>编辑(&amp;E)</translation>
    </message>
    <message>
        <source>Toolbar</source>
        <translation>工具栏</translation>
    </message>
    <message>
        <source>&amp;New</source>
        <translation>新建(&amp;N)</translation>
    </message>
    <message>
        <source>New record</source>
        <translation>新建记录</translation>
    </message>
    <message>
        <source>&amp;Save</source>
        <translation>保存(&amp;S)</translation>
    </message>
    <message>
        <source>Save now (changes are also saved by themselves)</source>
        <translation>立即保存（修改也会自动保存）</translation>
    </message>
    <message>
        <source>&amp;Delete</source>
        <translation>删除(&amp;D)</translation>
    </message>
    <message>
        <source>Delete the selected record</source>
        <translation>删除选中的记录</translation>
    </message>
    <message>
        <source>&amp;Find…</source>
        <translation>查找(&amp;F)…</translation>
    </message>
    <message>
        <source>&amp;Preferences…</source>
        <translation>设置(&amp;P)…</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>Import from &amp;Word…</source>
        <translation>从 Word 导入(&amp;W)…</translation>
    </message>
    <message>
        <source>Make draft lesson plans from Word documents (.docx)</source>
        <translation>把 Word 文档（.docx）变成教案草稿</translation>
    </message>
    <message>
        <source>Sync: not set up</source>
        <translation>同步：未设置</translation>
    </message>
    <message>
        <source>&amp;Undo {action}</source>
        <translation>撤销{action}(&amp;U)</translation>
    </message>
    <message>
        <source>&amp;Undo</source>
        <translation>撤销(&amp;U)</translation>
    </message>
    <message>
        <source>&amp;Redo {action}</source>
        <translation>重做{action}(&amp;R)</translation>
    </message>
    <message>
        <source>&amp;Redo</source>
        <translation>重做(&amp;R)</translation>
    </message>
    <message>
        <source>Could not read the records: {error}</source>
        <translation>无法读取记录：{error}</translation>
    </message>
    <message>
        <source>{kind} ({count}) · {unread} new</source>
        <translation>{kind}（{count}）· {unread} 条新</translation>
    </message>
    <message>
        <source>{unread} records with review comments you have not read</source>
        <translation>{unread} 条记录有未读的审阅意见</translation>
    </message>
    <message>
        <source>{kind} ({count})</source>
        <translation>{kind}（{count}）</translation>
    </message>
    <message>
        <source>{kind} {count}</source>
        <translation>{kind} {count}</translation>
    </message>
    <message>
        <source>{action} ({shortcut})</source>
        <translation>{action}（{shortcut}）</translation>
    </message>
    <message>
        <source>Kinds of records and pages</source>
        <translation>记录类别与页面</translation>
    </message>
    <message>
        <source>Imported as draft lesson plans: {count}</source>
        <translation>已导入为教案草稿：{count} 份</translation>
    </message>
    <message>
        <source>Du&amp;plicate</source>
        <translation>创建副本(&amp;P)</translation>
    </message>
    <message>
        <source>Start a new draft from the selected lesson plan</source>
        <translation>为选中的教案创建副本，作为新草稿</translation>
    </message>
</context>
<context>
    <name>MassDeleteDialog</name>
    <message>
        <source>Remove records?</source>
        <translation>删除记录？</translation>
    </message>
    <message>
        <source>The server would remove {count} of your {total} records. This can happen if the server was reset or you connected to the wrong server. Remove them?</source>
        <translation>服务器将删除您 {total} 条记录中的 {count} 条。如果服务器被重置过，或者您连接到了错误的服务器，就可能出现这种情况。要删除这些记录吗？</translation>
    </message>
    <message>
        <source>Remove them</source>
        <translation>删除这些记录</translation>
    </message>
    <message>
        <source>Don&apos;t remove</source>
        <translation>不要删除</translation>
    </message>
</context>
<context>
    <name>Nearby</name>
    <message>
        <source>the code does not match. Check the 6 digits on the fellow&apos;s screen</source>
        <translation>配对码不对。请核对学员屏幕上的 6 位数字</translation>
    </message>
    <message>
        <source>that laptop is not sharing any more. Ask the fellow to start sharing again</source>
        <translation>那台电脑已不再共享。请学员重新开始共享</translation>
    </message>
    <message>
        <source>that laptop is busy with another exchange. Try again in a moment</source>
        <translation>那台电脑正在与别人交换。请稍后再试</translation>
    </message>
    <message>
        <source>that laptop cannot be reached. Are both laptops on the same Wi-Fi or hotspot?</source>
        <translation>连不上那台电脑。两台电脑是否连在同一个 Wi-Fi 或热点上？</translation>
    </message>
    <message>
        <source>this laptop&apos;s network refused it ({error})</source>
        <translation>这台电脑的网络不允许（{error}）</translation>
    </message>
</context>
<context>
    <name>NearbyUi</name>
    <message>
        <source>S&amp;hare with a trainer nearby…</source>
        <translation>与附近的培训师共享(&amp;H)…</translation>
    </message>
    <message>
        <source>No signal? A trainer&apos;s laptop on the same Wi-Fi or hotspot takes your work to the server</source>
        <translation>没有信号？同一 Wi-Fi 或热点上的培训师电脑可以把您的工作带给服务器</translation>
    </message>
    <message>
        <source>Fello&amp;ws nearby…</source>
        <translation>附近的学员(&amp;W)…</translation>
    </message>
    <message>
        <source>Take the work of fellows in the room to the server, and give them your comments at once</source>
        <translation>把在场学员的工作带给服务器，并立刻把您的评语交给他们</translation>
    </message>
    <message>
        <source>Could not deliver the parcels you carry: {why}. They are kept for the next sync.</source>
        <translation>无法送达您带着的同步包：{why}。它们会保留到下次同步。</translation>
    </message>
</context>
<context>
    <name>ParcelsUi</name>
    <message>
        <source>Export s&amp;ync parcel…</source>
        <translation>导出同步包(&amp;Y)…</translation>
    </message>
    <message>
        <source>No signal? Write everything this computer would sync to a file (a USB stick); anyone with a connection can deliver it</source>
        <translation>没有信号？把这台电脑要同步的内容写成一个文件（存到U盘），任何有网络的人都可以代为送达</translation>
    </message>
    <message>
        <source>Import &amp;answer parcel…</source>
        <translation>导入回执包(&amp;A)…</translation>
    </message>
    <message>
        <source>Bring in the answer to a parcel this computer exported</source>
        <translation>导入这台电脑导出的同步包的回执</translation>
    </message>
    <message>
        <source>Deli&amp;ver a parcel for someone…</source>
        <translation>代为送达同步包(&amp;V)…</translation>
    </message>
    <message>
        <source>Send a colleague&apos;s parcel to the server and write the answer beside it</source>
        <translation>把同事的同步包发送到服务器，并把回执保存在它旁边</translation>
    </message>
    <message>
        <source>Export sync parcel</source>
        <translation>导出同步包</translation>
    </message>
    <message>
        <source>Fieldbook parcels (*{suffix})</source>
        <translation>田野手册同步包 (*{suffix})</translation>
    </message>
    <message>
        <source>Carry attached files?</source>
        <translation>一并带上附件吗？</translation>
    </message>
    <message>
        <source>{count} attached file(s) not yet on the server, {size:.1f} MB. Put them in the parcel too? (Without them the parcel stays small; they go at the next sync.)</source>
        <translation>有 {count} 个附件尚未上传到服务器，共 {size:.1f} MB。要一并放进同步包吗？（不放的话同步包更小，附件会在下次联网同步时上传。）</translation>
    </message>
    <message>
        <source>Writing the sync parcel…</source>
        <translation>正在写入同步包…</translation>
    </message>
    <message>
        <source>Could not export the parcel</source>
        <translation>无法导出同步包</translation>
    </message>
    <message>
        <source>Parcel written: {changes} change(s), {size:.0f} KB, in {file}. Deliver it before {date}; your changes stay here until its answer is imported.</source>
        <translation>同步包已写入：{changes} 项修改，{size:.0f} KB，文件 {file}。请在 {date} 前送达；在导入回执之前，您的修改会一直保留在这台电脑上。</translation>
    </message>
    <message>
        <source>Import answer parcel</source>
        <translation>导入回执包</translation>
    </message>
    <message>
        <source>Importing the answer parcel…</source>
        <translation>正在导入回执包…</translation>
    </message>
    <message>
        <source>Could not import the parcel</source>
        <translation>无法导入同步包</translation>
    </message>
    <message>
        <source>Synced by parcel: {sent} change(s) confirmed, {received} record(s) received.</source>
        <translation>已通过同步包同步：确认 {sent} 项修改，收到 {received} 条记录。</translation>
    </message>
    <message>
        <source>{count} change(s) were refused by the server; they stay marked on their records.</source>
        <translation>有 {count} 项修改被服务器拒绝，已在相应记录上标出。</translation>
    </message>
    <message>
        <source>This answer was imported before: nothing was applied twice.</source>
        <translation>这个回执之前已导入过，没有重复应用任何内容。</translation>
    </message>
    <message>
        <source>Sign in and sync once on this computer to deliver parcels.</source>
        <translation>请先在这台电脑上登录并同步一次，才能代为送达同步包。</translation>
    </message>
    <message>
        <source>Deliver a parcel</source>
        <translation>送达同步包</translation>
    </message>
    <message>
        <source>Delivering the parcel to the server…</source>
        <translation>正在把同步包发送到服务器…</translation>
    </message>
    <message>
        <source>Could not deliver the parcel</source>
        <translation>无法送达同步包</translation>
    </message>
    <message>
        <source>Delivered. The answer is {file}, beside the parcel: give it back with the stick.</source>
        <translation>已送达。回执文件是 {file}，就在同步包旁边：请随U盘一起带回。</translation>
    </message>
    <message>
        <source>{what}: {why}</source>
        <translation>{what}：{why}</translation>
    </message>
    <message>
        <source>this computer has not signed in since parcels came; sign in once with a connection</source>
        <translation>这台电脑自启用同步包以来还没有登录过；请在有网络时登录一次</translation>
    </message>
    <message>
        <source>this file is not a parcel of this kind (an answer is imported, an outgoing parcel is delivered)</source>
        <translation>这个文件不是这一类同步包（回执包用来导入，导出的同步包用来送达）</translation>
    </message>
    <message>
        <source>the file is cut short; copy it again from the stick</source>
        <translation>文件不完整；请从U盘重新复制</translation>
    </message>
    <message>
        <source>the file is damaged or was changed; nothing was applied</source>
        <translation>文件已损坏或被改动；没有应用任何内容</translation>
    </message>
    <message>
        <source>this parcel belongs to another computer or account</source>
        <translation>这个同步包属于另一台电脑或另一个账号</translation>
    </message>
    <message>
        <source>this parcel is too old; export a new one</source>
        <translation>这个同步包已过期；请重新导出</translation>
    </message>
    <message>
        <source>this parcel comes from a newer Fieldbook; update Fieldbook</source>
        <translation>这个同步包来自更新版本的田野手册；请更新田野手册</translation>
    </message>
    <message>
        <source>this parcel is too large</source>
        <translation>这个同步包太大</translation>
    </message>
    <message>
        <source>the file cannot be read or written ({error})</source>
        <translation>无法读取或写入文件（{error}）</translation>
    </message>
    <message>
        <source>an unexpected error; the log has the details</source>
        <translation>发生意外错误；详细信息见日志</translation>
    </message>
</context>
<context>
    <name>QFileDialog</name>
    <message>
        <source>&amp;Look in:</source>
        <translation>查找范围(&amp;L)：</translation>
    </message>
    <message>
        <source>Files of &amp;type:</source>
        <translation>文件类型(&amp;T)：</translation>
    </message>
</context>
<context>
    <name>RecordCommands</name>
    <message>
        <source>{what}: {error}</source>
        <translation>{what}：{error}</translation>
    </message>
    <message>
        <source>Select a record to delete.</source>
        <translation>请先选择要删除的记录。</translation>
    </message>
    <message>
        <source>This record is read-only: it cannot be deleted.</source>
        <translation>这条记录是只读的，不能删除。</translation>
    </message>
    <message>
        <source>Could not delete the record</source>
        <translation>无法删除该记录</translation>
    </message>
    <message>
        <source>Delete “{title}”</source>
        <translation>删除“{title}”</translation>
    </message>
    <message>
        <source>Could not undo</source>
        <translation>无法撤销</translation>
    </message>
    <message>
        <source>Deleted “{title}”. Press {shortcut} to undo.</source>
        <translation>已删除“{title}”。按 {shortcut} 撤销。</translation>
    </message>
    <message>
        <source>Restored “{title}”.</source>
        <translation>已恢复“{title}”。</translation>
    </message>
    <message>
        <source>Select a lesson plan to duplicate.</source>
        <translation>请先选择要创建副本的教案。</translation>
    </message>
    <message>
        <source> (copy)</source>
        <translation>（副本）</translation>
    </message>
    <message>
        <source>Could not duplicate the lesson plan</source>
        <translation>无法为该教案创建副本</translation>
    </message>
    <message>
        <source>Created “{title}”.</source>
        <translation>已创建“{title}”。</translation>
    </message>
</context>
<context>
    <name>RecordEditor</name>
    <message>
        <source>The record could not be opened: {reason}</source>
        <translation>无法打开该记录：{reason}</translation>
    </message>
    <message>
        <source>No record is open. Choose one from the list or create a new one.</source>
        <translation>没有打开的记录。请从列表中选择，或新建一条。</translation>
    </message>
    <message>
        <source>—</source>
        <translation>—</translation>
    </message>
    <message>
        <source>, </source>
        <comment>between tags when a record&apos;s tags are shown</comment>
        <translation>，</translation>
    </message>
    <message>
        <source>Separate tags with commas</source>
        <translation>用逗号分隔标签</translation>
    </message>
    <message>
        <source>Clear the date</source>
        <translation>清除日期</translation>
    </message>
    <message>
        <source>This record has been deleted, so changes to it cannot be saved.</source>
        <translation>这条记录已被删除，修改无法保存。</translation>
    </message>
    <message>
        <source>Changes to a record you left are not saved yet: {reason}</source>
        <translation>之前那条记录的修改尚未保存：{reason}</translation>
    </message>
    <message>
        <source>The disk is full. Free some space; your changes are kept.</source>
        <translation>磁盘已满。请腾出空间；您的修改仍然保留。</translation>
    </message>
    <message>
        <source>Another program is using the data file. Your changes are kept.</source>
        <translation>另一个程序正在使用数据文件。您的修改仍然保留。</translation>
    </message>
    <message>
        <source>These fields could not be saved: {fields}.</source>
        <translation>以下字段无法保存：{fields}。</translation>
    </message>
    <message>
        <source>The record no longer exists.</source>
        <translation>这条记录已不存在。</translation>
    </message>
    <message>
        <source>The data file could not be written: {detail}</source>
        <translation>无法写入数据文件：{detail}</translation>
    </message>
    <message>
        <source>An unexpected error stopped the save. Your changes are kept.</source>
        <translation>意外错误导致保存中断。您的修改仍然保留。</translation>
    </message>
</context>
<context>
    <name>RecordListPage</name>
    <message>
        <source>Search all records ({shortcut})</source>
        <translation>搜索全部记录（{shortcut}）</translation>
    </message>
    <message>
        <source>Status:</source>
        <translation>状态：</translation>
    </message>
    <message>
        <source>Subject:</source>
        <translation>学科：</translation>
    </message>
    <message>
        <source>Grade:</source>
        <translation>年级：</translation>
    </message>
    <message>
        <source>From:</source>
        <translation>从：</translation>
    </message>
    <message>
        <source>To:</source>
        <translation>到：</translation>
    </message>
    <message>
        <source>“—” means any date</source>
        <translation>“—”表示不限日期</translation>
    </message>
    <message>
        <source>Clear filters</source>
        <translation>清除筛选</translation>
    </message>
    <message>
        <source>All statuses</source>
        <translation>全部状态</translation>
    </message>
    <message>
        <source>All subjects</source>
        <translation>全部学科</translation>
    </message>
    <message>
        <source>All grades</source>
        <translation>全部年级</translation>
    </message>
    <message>
        <source>Search all records</source>
        <translation>搜索全部记录</translation>
    </message>
    <message>
        <source>Clear the search</source>
        <translation>清除搜索</translation>
    </message>
    <message>
        <source>Records</source>
        <translation>记录列表</translation>
    </message>
    <message>
        <source>Filters</source>
        <translation>筛选</translation>
    </message>
    <message>
        <source>New training record</source>
        <translation>新建培训记录</translation>
    </message>
    <message>
        <source>New exchange log</source>
        <translation>新建交流记录</translation>
    </message>
    <message>
        <source>New lesson plan</source>
        <translation>新建教案</translation>
    </message>
    <message>
        <source>No results</source>
        <translation>没有结果</translation>
    </message>
    <message>
        <source>{count}+ results</source>
        <translation>{count}+ 条结果</translation>
    </message>
    <message>
        <source>1 result</source>
        <translation>1 条结果</translation>
    </message>
    <message>
        <source>{count} results</source>
        <translation>{count} 条结果</translation>
    </message>
    <message>
        <source>No records</source>
        <translation>没有记录</translation>
    </message>
    <message>
        <source>1 record</source>
        <translation>1 条记录</translation>
    </message>
    <message>
        <source>{count} records</source>
        <translation>{count} 条记录</translation>
    </message>
    <message>
        <source>Nothing matches “{text}”</source>
        <translation>没有找到与“{text}”相符的记录</translation>
    </message>
    <message>
        <source>Search looks in every kind of record. Try a shorter word or check the spelling.</source>
        <translation>搜索会查找所有类别的记录。可以试试更短的词，或检查是否有错别字。</translation>
    </message>
    <message>
        <source>No records match these filters</source>
        <translation>没有符合筛选条件的记录</translation>
    </message>
    <message>
        <source>Records are kept; the filters only hide them.</source>
        <translation>记录都还在，筛选只是暂时隐藏了它们。</translation>
    </message>
    <message>
        <source>No training records yet</source>
        <translation>还没有培训记录</translation>
    </message>
    <message>
        <source>Record a training you took part in: its dates, hours and what you will use in class.</source>
        <translation>记下参加过的培训：日期、学时，以及准备在课堂上用到的内容。</translation>
    </message>
    <message>
        <source>No exchange logs yet</source>
        <translation>还没有交流记录</translation>
    </message>
    <message>
        <source>Note a visit, a shared lesson or a meeting with a partner school.</source>
        <translation>记下与结对学校的一次访问、同课异构或交流会。</translation>
    </message>
    <message>
        <source>No lesson plans yet</source>
        <translation>还没有教案</translation>
    </message>
    <message>
        <source>Write your first lesson plan: its topic, the class and the steps of the lesson. It is saved as you type.</source>
        <translation>写第一份教案：课题、班级和教学过程。输入时会自动保存。</translation>
    </message>
</context>
<context>
    <name>RecordTableModel</name>
    <message>
        <source>Author</source>
        <translation>作者</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Updated</source>
        <translation>更新时间</translation>
    </message>
    <message>
        <source>{title} · rev. {revision}</source>
        <translation>{title} · 第 {revision} 版</translation>
    </message>
</context>
<context>
    <name>RefusalsButton</name>
    <message>
        <source>Details…</source>
        <translation>详情…</translation>
    </message>
    <message>
        <source>Show the changes the server refused, and why</source>
        <translation>查看被服务器拒绝的修改及原因</translation>
    </message>
</context>
<context>
    <name>RefusalsDialog</name>
    <message>
        <source>Changes the server refused</source>
        <translation>被服务器拒绝的修改</translation>
    </message>
    <message>
        <source>The server did not accept these changes. Each record was put back as the server has it, so it is the same on every computer.</source>
        <translation>服务器没有接受这些修改。每条记录都已恢复为服务器上的版本，所以在每台电脑上都一样。</translation>
    </message>
    <message>
        <source>Record</source>
        <translation>记录</translation>
    </message>
    <message>
        <source>Change</source>
        <translation>修改</translation>
    </message>
    <message>
        <source>Why</source>
        <translation>原因</translation>
    </message>
    <message>
        <source>&amp;Open record</source>
        <translation>打开记录(&amp;O)</translation>
    </message>
    <message>
        <source>&amp;Dismiss all</source>
        <translation>全部忽略(&amp;D)</translation>
    </message>
    <message>
        <source>(no longer on this computer)</source>
        <translation>（已不在这台电脑上）</translation>
    </message>
    <message>
        <source>(untitled)</source>
        <translation>（无标题）</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>, </source>
        <translation>、</translation>
    </message>
    <message>
        <source>A change</source>
        <translation>一项修改</translation>
    </message>
    <message>
        <source>Could not dismiss the refused changes: {error}</source>
        <translation>无法忽略被拒绝的修改：{error}</translation>
    </message>
</context>
<context>
    <name>Review</name>
    <message>
        <source>Submitted for review</source>
        <translation>已提交审阅</translation>
    </message>
    <message>
        <source>Took it back to edit</source>
        <translation>已撤回修改</translation>
    </message>
    <message>
        <source>Approved</source>
        <translation>已通过</translation>
    </message>
    <message>
        <source>Returned for revision</source>
        <translation>已退回修改</translation>
    </message>
    <message>
        <source>Comment</source>
        <translation>评论</translation>
    </message>
    <message>
        <source>(unknown)</source>
        <translation>（未知）</translation>
    </message>
    <message>
        <source>given in person {time}, pending server confirmation</source>
        <translation>{time} 当面交来，待服务器确认</translation>
    </message>
    <message>
        <source>waiting to be sent (written {time})</source>
        <translation>等待发送（写于 {time}）</translation>
    </message>
    <message>
        <source>{author} · {action} · {time}</source>
        <translation>{author} · {action} · {time}</translation>
    </message>
    <message>
        <source>Your decision is waiting to be sent. It is sent with the next sync.</source>
        <translation>您的审阅决定正在等待发送，将在下次同步时发出。</translation>
    </message>
    <message>
        <source>Read-only: this is a fellow&apos;s record. Approve it or return it for revision.</source>
        <translation>只读：这是学员的记录。请通过，或退回修改。</translation>
    </message>
    <message>
        <source>Read-only: this record belongs to someone else.</source>
        <translation>只读：这条记录属于其他人。</translation>
    </message>
    <message>
        <source>{author} decided in person: {action}. It takes effect when the server confirms it, at your next sync.</source>
        <translation>{author} 当面给出决定：{action}。服务器确认后生效（在您下次同步时）。</translation>
    </message>
    <message>
        <source>Submitted for review: read-only until you withdraw it to edit.</source>
        <translation>已提交审阅：撤回修改之前为只读。</translation>
    </message>
    <message>
        <source>Approved: read-only. Start a new revision to change it.</source>
        <translation>已通过：只读。如需修改，请创建新修订版。</translation>
    </message>
    <message>
        <source>Returned for revision: edit it and submit it again.</source>
        <translation>已退回修改：请修改后重新提交审阅。</translation>
    </message>
</context>
<context>
    <name>ReviewPanel</name>
    <message>
        <source>Submit for review</source>
        <translation>提交审阅</translation>
    </message>
    <message>
        <source>Hand this record in to your trainer. It is sent with the next sync.</source>
        <translation>将这条记录提交给培训师审阅，将在下次同步时发出。</translation>
    </message>
    <message>
        <source>Withdraw to edit</source>
        <translation>撤回修改</translation>
    </message>
    <message>
        <source>Take the record back from review so you can change it.</source>
        <translation>从审阅中撤回这条记录，以便修改。</translation>
    </message>
    <message>
        <source>Start a new revision</source>
        <translation>创建新修订版</translation>
    </message>
    <message>
        <source>Copy this approved record into a new draft; the approved one stays as it is.</source>
        <translation>将这条已通过的记录复制为新草稿；已通过的版本保持不变。</translation>
    </message>
    <message>
        <source>Approve</source>
        <translation>通过</translation>
    </message>
    <message>
        <source>Return for revision</source>
        <translation>退回修改</translation>
    </message>
    <message>
        <source>Send the record back to the fellow. Write what to change first.</source>
        <translation>将记录退回给学员。请先写明需要修改的地方。</translation>
    </message>
    <message>
        <source>Comment</source>
        <translation>评论</translation>
    </message>
    <message>
        <source>Write a comment…</source>
        <translation>写评论…</translation>
    </message>
    <message>
        <source>No review comments yet.</source>
        <translation>还没有审阅意见。</translation>
    </message>
    <message>
        <source>Review: {status}</source>
        <translation>审阅：{status}</translation>
    </message>
    <message>
        <source>{text} · rev. {revision}</source>
        <translation>{text} · 第 {revision} 版</translation>
    </message>
    <message>
        <source>A comment is required to return the record for revision.</source>
        <translation>退回修改时必须填写评论。</translation>
    </message>
    <message>
        <source>The record changed before this decision arrived.</source>
        <translation>该决定送达之前，记录已发生变化。</translation>
    </message>
    <message>
        <source>Not applied: {reason}</source>
        <translation>未生效：{reason}</translation>
    </message>
    <message>
        <source>New · {header}</source>
        <translation>新 · {header}</translation>
    </message>
    <message>
        <source>{what}: {error}</source>
        <translation>{what}：{error}</translation>
    </message>
    <message>
        <source>Could not submit the record</source>
        <translation>无法提交审阅</translation>
    </message>
    <message>
        <source>Could not withdraw the record</source>
        <translation>无法撤回记录</translation>
    </message>
    <message>
        <source>Could not start a new revision</source>
        <translation>无法创建新修订版</translation>
    </message>
    <message>
        <source>Write what should be changed before returning the record.</source>
        <translation>退回之前，请写明需要修改的地方。</translation>
    </message>
    <message>
        <source>Could not save the decision</source>
        <translation>无法保存审阅决定</translation>
    </message>
    <message>
        <source>Write a comment first.</source>
        <translation>请先写评论。</translation>
    </message>
    <message>
        <source>Could not save the comment</source>
        <translation>无法保存评论</translation>
    </message>
</context>
<context>
    <name>ReviewQueueModel</name>
    <message>
        <source>(untitled)</source>
        <translation>（无标题）</translation>
    </message>
    <message>
        <source>Submitted</source>
        <translation>提交时间</translation>
    </message>
    <message>
        <source>Fellow</source>
        <translation>学员</translation>
    </message>
    <message>
        <source>School</source>
        <translation>学校</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Title</source>
        <translation>标题</translation>
    </message>
    <message>
        <source>Rev.</source>
        <translation>版本</translation>
    </message>
    <message>
        <source>Comments</source>
        <translation>评论</translation>
    </message>
</context>
<context>
    <name>ReviewQueuePage</name>
    <message>
        <source>Review queue</source>
        <translation>待审阅</translation>
    </message>
    <message>
        <source>Fellow:</source>
        <translation>学员：</translation>
    </message>
    <message>
        <source>Kind:</source>
        <translation>类别：</translation>
    </message>
    <message>
        <source>School:</source>
        <translation>学校：</translation>
    </message>
    <message>
        <source>Submitted from:</source>
        <translation>提交日期从：</translation>
    </message>
    <message>
        <source>To:</source>
        <translation>到：</translation>
    </message>
    <message>
        <source>“—” means any date</source>
        <translation>“—”表示不限日期</translation>
    </message>
    <message>
        <source>Clear filters</source>
        <translation>清除筛选</translation>
    </message>
    <message>
        <source>Nothing waiting matches these filters</source>
        <translation>没有符合筛选条件的待审阅记录</translation>
    </message>
    <message>
        <source>Other records may be waiting: clear the filters to see them all.</source>
        <translation>可能还有其他记录在等待审阅：清除筛选即可全部查看。</translation>
    </message>
    <message>
        <source>Nothing is waiting for your review.</source>
        <translation>没有等待您审阅的记录。</translation>
    </message>
    <message>
        <source>When fellows submit a record, it appears here after the next sync.</source>
        <translation>学员提交记录后，下次同步时就会出现在这里。</translation>
    </message>
    <message>
        <source>Sync now</source>
        <translation>立即同步</translation>
    </message>
    <message>
        <source>All fellows</source>
        <translation>全部学员</translation>
    </message>
    <message>
        <source>{name} ({count})</source>
        <translation>{name}（{count}）</translation>
    </message>
    <message>
        <source>All kinds</source>
        <translation>全部类别</translation>
    </message>
    <message>
        <source>All schools</source>
        <translation>全部学校</translation>
    </message>
    <message>
        <source>Could not read the review queue: {error}</source>
        <translation>无法读取待审阅列表：{error}</translation>
    </message>
    <message>
        <source>1 waiting</source>
        <translation>1 条待审阅</translation>
    </message>
    <message>
        <source>{count} waiting</source>
        <translation>{count} 条待审阅</translation>
    </message>
</context>
<context>
    <name>ReviewUi</name>
    <message>
        <source>Review queue ({count})</source>
        <translation>待审阅（{count}）</translation>
    </message>
    <message>
        <source>Review queue</source>
        <translation>待审阅</translation>
    </message>
    <message>
        <source>Dashboard</source>
        <translation>数据概览</translation>
    </message>
    <message>
        <source>1 new review comment</source>
        <translation>1 条新审阅意见</translation>
    </message>
    <message>
        <source>{count} new review comments</source>
        <translation>{count} 条新审阅意见</translation>
    </message>
    <message>
        <source>Click to open the next record with review comments you have not read.</source>
        <translation>点击打开下一条有未读审阅意见的记录。</translation>
    </message>
    <message>
        <source>Started revision {revision} as a new draft.</source>
        <translation>已创建第 {revision} 版草稿。</translation>
    </message>
</context>
<context>
    <name>SaveStateLabel</name>
    <message>
        <source>Unsaved changes…</source>
        <translation>有未保存的修改…</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>正在保存…</translation>
    </message>
    <message>
        <source>All changes saved</source>
        <translation>所有修改已保存</translation>
    </message>
    <message>
        <source>Not saved: {error}</source>
        <translation>未保存：{error}</translation>
    </message>
    <message>
        <source>Not saved: please correct the marked fields</source>
        <translation>未保存：请修改标出的字段</translation>
    </message>
    <message>
        <source>Not saved</source>
        <translation>未保存</translation>
    </message>
</context>
<context>
    <name>SaveTemplateDialog</name>
    <message>
        <source>Save as template</source>
        <translation>另存为模板</translation>
    </message>
    <message>
        <source>Template &amp;name:</source>
        <translation>模板名称(&amp;N)：</translation>
    </message>
    <message>
        <source>The template keeps this plan&apos;s objectives, key points, materials, steps, assessment, homework and notes; not its date, class or reflection. It syncs with your account.</source>
        <translation>模板保留本教案的教学目标、重难点、教学准备、教学过程、评价、作业和其他备注，不含授课日期、班级和教学反思。模板随您的账号同步。</translation>
    </message>
    <message>
        <source>&amp;Share with the cohorts I train</source>
        <translation>与我培训的期次共享(&amp;S)</translation>
    </message>
</context>
<context>
    <name>SearchResultsModel</name>
    <message>
        <source>Kind</source>
        <translation>类别</translation>
    </message>
    <message>
        <source>Title</source>
        <translation>标题</translation>
    </message>
    <message>
        <source>Date</source>
        <translation>日期</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>{title} · rev. {revision}</source>
        <translation>{title} · 第 {revision} 版</translation>
    </message>
</context>
<context>
    <name>SessionNoticeBox</name>
    <message>
        <source>Signed out for safety</source>
        <translation>为安全起见已退出登录</translation>
    </message>
    <message>
        <source>Since your last sign-in, your sign-in on one computer was used from two places at once, so the server signed it out to be safe. If you do not know why, change your password.</source>
        <translation>自您上次登录以来，您在一台电脑上的登录被两处同时使用，服务器为安全起见已让它退出登录。如果您不清楚原因，请修改密码。</translation>
    </message>
</context>
<context>
    <name>SettingsDialog</name>
    <message>
        <source>Preferences</source>
        <translation>设置</translation>
    </message>
    <message>
        <source>System default</source>
        <translation>跟随系统</translation>
    </message>
    <message>
        <source>&amp;Language:</source>
        <translation>语言(&amp;L)：</translation>
    </message>
    <message>
        <source>Your &amp;name:</source>
        <translation>您的姓名(&amp;N)：</translation>
    </message>
    <message>
        <source>e.g. 王芳</source>
        <translation>例如：王芳</translation>
    </message>
    <message>
        <source>Saved as the author of the records you create.</source>
        <translation>将作为您新建记录的作者。</translation>
    </message>
    <message>
        <source>Attachments:</source>
        <translation>附件：</translation>
    </message>
    <message>
        <source>Make &amp;photos smaller before attaching them</source>
        <translation>添加照片前先压缩(&amp;P)</translation>
    </message>
    <message>
        <source>Photos are attached at most 1600 pixels wide, about a tenth of the size: they upload faster over a weak connection. The original stays where it was.</source>
        <translation>照片以最长边 1600 像素添加，大小约为原来的十分之一，网络不好时也能更快上传。原始照片保留在原处。</translation>
    </message>
    <message>
        <source>&amp;Download the files of records waiting for my review</source>
        <translation>自动下载待我审阅记录的附件(&amp;D)</translation>
    </message>
    <message>
        <source>For trainers: after each sync, fetch the attachments of the records in your review queue, so they open at once, even offline.</source>
        <translation>供培训师使用：每次同步后下载审阅队列中记录的附件，打开时无需等待，离线也能查看。</translation>
    </message>
</context>
<context>
    <name>ShareDialog</name>
    <message>
        <source>Share with a trainer nearby</source>
        <translation>与附近的培训师共享</translation>
    </message>
    <message>
        <source>No signal? When a trainer&apos;s laptop is on the same Wi-Fi or phone hotspot, it can take your work to the server and give you its comments at once. Everything is sealed for the server: nobody else on the network can read it.</source>
        <translation>没有信号？培训师的电脑和您连在同一个 Wi-Fi 或手机热点上时，可以把您的工作带给服务器，并立刻把评语交给您。所有内容都只为服务器加密封装：网络上的其他人无法读取。</translation>
    </message>
    <message>
        <source>&amp;Start sharing</source>
        <translation>开始共享(&amp;S)</translation>
    </message>
    <message>
        <source>S&amp;top sharing</source>
        <translation>停止共享(&amp;T)</translation>
    </message>
    <message>
        <source>Starting…</source>
        <translation>正在开启…</translation>
    </message>
    <message>
        <source>Turn sharing on when the trainer is here. It stays on only while this window is open.</source>
        <translation>培训师到了再开启共享。只有这个窗口开着时才会共享。</translation>
    </message>
    <message>
        <source>This laptop is not on a Wi-Fi or hotspot, so no one can reach it. Join the same one as the trainer, then stop and start sharing again.</source>
        <translation>这台电脑没有连接 Wi-Fi 或热点，别人连不上它。请连上与培训师相同的网络，然后停止并重新开始共享。</translation>
    </message>
    <message>
        <source>Read this code to the trainer. On their laptop: File → Fellows nearby…, choose this laptop and type the code. (This laptop: {address})</source>
        <translation>把这个配对码念给培训师。在培训师的电脑上：文件 → 附近的学员…，选中这台电脑并输入配对码。（这台电脑：{address}）</translation>
    </message>
    <message>
        <source>Waiting for the trainer&apos;s laptop…</source>
        <translation>正在等待培训师的电脑…</translation>
    </message>
    <message>
        <source>Could not start sharing: {why}</source>
        <translation>无法开始共享：{why}</translation>
    </message>
    <message>
        <source>{time}  {what}</source>
        <translation>{time}  {what}</translation>
    </message>
    <message>
        <source>The trainer&apos;s laptop took your work: {count} change(s). They stay here too until the server&apos;s answer comes back.</source>
        <translation>培训师的电脑已收下您的工作：{count} 项修改。在服务器的回执回来之前，它们也保留在这里。</translation>
    </message>
    <message>
        <source>The server&apos;s answer came in: {count} record(s) received. Synced by parcel.</source>
        <translation>服务器的回执到了：收到 {count} 条记录。已通过同步包同步。</translation>
    </message>
    <message>
        <source>{person} gave you {count} comment(s) or decision(s), pending server confirmation.</source>
        <translation>{person} 给了您 {count} 条评语或审阅决定，待服务器确认。</translation>
    </message>
    <message>
        <source>{count} comment(s) given in person earlier were refused by the server and are removed.</source>
        <translation>之前当面交来的 {count} 条被服务器拒收，已移除。</translation>
    </message>
    <message>
        <source>Sharing stopped: too many wrong codes were tried. Start sharing again for a new code.</source>
        <translation>共享已停止：有人试了太多次错误的配对码。重新开始共享会得到新的配对码。</translation>
    </message>
    <message>
        <source>Refused what the trainer&apos;s laptop handed over: {why}</source>
        <translation>拒收了培训师电脑交来的内容：{why}</translation>
    </message>
</context>
<context>
    <name>SignIn</name>
    <message>
        <source>The user name or password is not correct.</source>
        <translation>用户名或密码不正确。</translation>
    </message>
    <message>
        <source>Too many sign-in attempts. Please wait {seconds} seconds and try again.</source>
        <translation>登录尝试次数过多。请等待 {seconds} 秒后再试。</translation>
    </message>
    <message>
        <source>Too many sign-in attempts. Please wait a few minutes and try again.</source>
        <translation>登录尝试次数过多。请等几分钟后再试。</translation>
    </message>
    <message>
        <source>This version of Fieldbook is too old for the server. Please update Fieldbook.</source>
        <translation>这个版本的田野手册太旧，服务器已不再支持。请更新田野手册。</translation>
    </message>
    <message>
        <source>The server address is not valid. It should look like {example}.</source>
        <translation>服务器地址无效。地址应类似于 {example}。</translation>
    </message>
    <message>
        <source>Could not open a secure connection to the server. Check that the computer&apos;s date and time are correct.</source>
        <translation>无法与服务器建立安全连接。请检查电脑的日期和时间是否正确。</translation>
    </message>
    <message>
        <source>This address does not answer like a Fieldbook server. Check the address.</source>
        <translation>这个地址的回应不像田野手册服务器。请检查地址。</translation>
    </message>
    <message>
        <source>The server cannot be reached. Check the address and the internet connection.</source>
        <translation>无法连接到服务器。请检查地址和网络连接。</translation>
    </message>
    <message>
        <source>The server is not available right now. Please try again later.</source>
        <translation>服务器暂时不可用。请稍后再试。</translation>
    </message>
    <message>
        <source>The records on this computer belong to {user} on {server}. Sign in with that account.</source>
        <translation>这台电脑上的记录属于 {server} 上的 {user}。请用那个账号登录。</translation>
    </message>
    <message>
        <source>The server refused the sign-in: {reason}</source>
        <translation>服务器拒绝了登录：{reason}</translation>
    </message>
    <message>
        <source>Sign-in failed: {reason}</source>
        <translation>登录失败：{reason}</translation>
    </message>
    <message>
        <source>Sign-in failed because of an unexpected error. The details are in Fieldbook&apos;s log file.</source>
        <translation>因意外错误登录失败。详细信息在田野手册的日志文件中。</translation>
    </message>
</context>
<context>
    <name>SignInDialog</name>
    <message>
        <source>Sign in to sync</source>
        <translation>登录以同步</translation>
    </message>
    <message>
        <source>&amp;Server address:</source>
        <translation>服务器地址(&amp;S)：</translation>
    </message>
    <message>
        <source>&amp;User name:</source>
        <translation>用户名(&amp;U)：</translation>
    </message>
    <message>
        <source>&amp;Password:</source>
        <translation>密码(&amp;P)：</translation>
    </message>
    <message>
        <source>Sign in</source>
        <translation>登录</translation>
    </message>
    <message>
        <source>Enter the server address, your user name and your password.</source>
        <translation>请输入服务器地址、用户名和密码。</translation>
    </message>
</context>
<context>
    <name>SignOutBox</name>
    <message>
        <source>Sign out?</source>
        <translation>退出登录？</translation>
    </message>
    <message>
        <source>{waiting} to be sent to the server. They stay on this computer and are sent when you sign in again. Sign out anyway?</source>
        <translation>{waiting}，尚未发送到服务器。这些修改会保留在这台电脑上，下次登录后再发送。仍要退出登录吗？</translation>
    </message>
    <message>
        <source>Sign out</source>
        <translation>退出登录</translation>
    </message>
</context>
<context>
    <name>StepsWidget</name>
    <message>
        <source>Add step</source>
        <translation>添加环节</translation>
    </message>
    <message>
        <source>Remove step</source>
        <translation>删除环节</translation>
    </message>
    <message>
        <source>Move up</source>
        <translation>上移</translation>
    </message>
    <message>
        <source>Move down</source>
        <translation>下移</translation>
    </message>
    <message>
        <source>Total: {minutes} min</source>
        <translation>合计：{minutes} 分钟</translation>
    </message>
</context>
<context>
    <name>StoreDialogs</name>
    <message>
        <source>Please update Fieldbook</source>
        <translation>请更新田野手册</translation>
    </message>
    <message>
        <source>This data was saved by a newer version of Fieldbook (data version {found}; this version reads up to {supported}).</source>
        <translation>这些数据由更新版本的田野手册保存（数据版本 {found}；当前版本最高支持 {supported}）。</translation>
    </message>
    <message>
        <source>Please install the latest Fieldbook. Your data has not been changed.</source>
        <translation>请安装最新版田野手册。您的数据没有被改动。</translation>
    </message>
    <message>
        <source>The data file cannot be read</source>
        <translation>无法读取数据文件</translation>
    </message>
    <message>
        <source>Fieldbook cannot read its data file. It may have been damaged by a power cut or a disk fault.</source>
        <translation>田野手册无法读取数据文件，可能因停电或磁盘故障而损坏。</translation>
    </message>
    <message>
        <source>The damaged file will be kept as it is; nothing is overwritten. What would you like to do?</source>
        <translation>损坏的文件会原样保留，不会被覆盖。您想怎么做？</translation>
    </message>
    <message>
        <source>Restore the backup of {when}</source>
        <translation>恢复 {when} 的备份</translation>
    </message>
    <message>
        <source>Start with an empty store</source>
        <translation>使用新的空白数据</translation>
    </message>
    <message>
        <source>Open another folder…</source>
        <translation>打开其他文件夹…</translation>
    </message>
    <message>
        <source>Quit</source>
        <translation>退出</translation>
    </message>
    <message>
        <source>The data file is in use</source>
        <translation>数据文件正在使用中</translation>
    </message>
    <message>
        <source>Another program is using Fieldbook&apos;s data file. Is Fieldbook already open?</source>
        <translation>另一个程序正在使用田野手册的数据文件。田野手册是否已经打开？</translation>
    </message>
    <message>
        <source>Cannot open the data file</source>
        <translation>无法打开数据文件</translation>
    </message>
    <message>
        <source>Fieldbook cannot open its data file: {reason}</source>
        <translation>田野手册无法打开数据文件：{reason}</translation>
    </message>
    <message>
        <source>Choose a folder for Fieldbook&apos;s data</source>
        <translation>选择田野手册的数据文件夹</translation>
    </message>
</context>
<context>
    <name>Sync</name>
    <message>
        <source>Synced by parcel at {time}</source>
        <translation>已于 {time} 通过同步包同步</translation>
    </message>
    <message>
        <source>Synced at {time}</source>
        <translation>已于 {time} 同步</translation>
    </message>
    <message>
        <source>Synced by parcel on {date} at {time}</source>
        <translation>已于 {date} {time} 通过同步包同步</translation>
    </message>
    <message>
        <source>Synced on {date} at {time}</source>
        <translation>已于 {date} {time} 同步</translation>
    </message>
    <message>
        <source>1 change waiting</source>
        <translation>1 项修改待发送</translation>
    </message>
    <message>
        <source>{count} changes waiting</source>
        <translation>{count} 项修改待发送</translation>
    </message>
    <message>
        <source>1 change refused by the server</source>
        <translation>1 项修改被服务器拒绝</translation>
    </message>
    <message>
        <source>{count} changes refused by the server</source>
        <translation>{count} 项修改被服务器拒绝</translation>
    </message>
    <message>
        <source>no secure connection</source>
        <translation>无法建立安全连接</translation>
    </message>
    <message>
        <source>Could not open a secure connection to the server. Check that the computer&apos;s date and time are correct.</source>
        <translation>无法与服务器建立安全连接。请检查电脑的日期和时间是否正确。</translation>
    </message>
    <message>
        <source>the server&apos;s answer could not be read</source>
        <translation>无法读取服务器的回应</translation>
    </message>
    <message>
        <source>The answer did not come from a Fieldbook server. This can happen on a network that shows a login page first, or when the address is wrong.</source>
        <translation>收到的回应不是来自田野手册服务器。如果所在网络需要先在网页上登录，或者服务器地址有误，就可能出现这种情况。</translation>
    </message>
    <message>
        <source>the server is not available right now</source>
        <translation>服务器暂时不可用</translation>
    </message>
    <message>
        <source>The server did not answer in time or is having trouble. Your changes are saved on this computer.</source>
        <translation>服务器没有及时回应，或者出现了故障。您的修改已保存在这台电脑上。</translation>
    </message>
    <message>
        <source>the server is busy</source>
        <translation>服务器繁忙</translation>
    </message>
    <message>
        <source>The server asked Fieldbook to wait before trying again.</source>
        <translation>服务器要求田野手册稍等一会儿再试。</translation>
    </message>
    <message>
        <source>the records here belong to another account</source>
        <translation>这台电脑上的记录属于另一个账号</translation>
    </message>
    <message>
        <source>The records on this computer belong to {user} on {server}. Sign in with that account.</source>
        <translation>这台电脑上的记录属于 {server} 上的 {user}。请用那个账号登录。</translation>
    </message>
    <message>
        <source>the server address is not valid</source>
        <translation>服务器地址无效</translation>
    </message>
    <message>
        <source>Sign out, then sign in with the right server address.</source>
        <translation>请退出登录，然后用正确的服务器地址重新登录。</translation>
    </message>
    <message>
        <source>the server refused the request</source>
        <translation>服务器拒绝了请求</translation>
    </message>
    <message>
        <source>The server did not accept what Fieldbook sent. Your changes are kept on this computer.</source>
        <translation>服务器没有接受田野手册发送的内容。您的修改保留在这台电脑上。</translation>
    </message>
    <message>
        <source>no connection</source>
        <translation>没有网络连接</translation>
    </message>
    <message>
        <source>Fieldbook cannot reach the server. Your changes are saved on this computer and will be sent when the connection is back.</source>
        <translation>田野手册无法连接到服务器。您的修改已保存在这台电脑上，网络恢复后会自动发送。</translation>
    </message>
    <message>
        <source>the data file could not be written</source>
        <translation>无法写入数据文件</translation>
    </message>
    <message>
        <source>Fieldbook could not save what it received. Check that the disk is not full.</source>
        <translation>田野手册无法保存收到的内容。请检查磁盘是否已满。</translation>
    </message>
    <message>
        <source>the sync did not finish</source>
        <translation>同步没有完成</translation>
    </message>
    <message>
        <source>Fieldbook will try again.</source>
        <translation>田野手册会再次尝试。</translation>
    </message>
    <message>
        <source>an unexpected error</source>
        <translation>发生意外错误</translation>
    </message>
    <message>
        <source>Please tell your support person; the details are in Fieldbook&apos;s log file.</source>
        <translation>请告诉负责技术支持的人员；详细信息在田野手册的日志文件中。</translation>
    </message>
    <message>
        <source>This computer has no password keyring: you will need to sign in again next time Fieldbook starts.</source>
        <translation>这台电脑没有密码钥匙串：下次启动田野手册时，您需要重新登录。</translation>
    </message>
</context>
<context>
    <name>SyncController</name>
    <message>
        <source>A record you deleted was restored because someone edited it: “{title}”</source>
        <translation>您删除的一条记录因为有人修改过而被恢复了：“{title}”</translation>
    </message>
    <message>
        <source>Message from the server: {message}</source>
        <translation>服务器消息：{message}</translation>
    </message>
    <message>
        <source>The server did not accept your change to “{title}”: {reason}</source>
        <translation>服务器没有接受您对“{title}”的修改：{reason}</translation>
    </message>
    <message>
        <source>The server did not accept {count} changes; they were undone here. “Details…” in the status bar says why.</source>
        <translation>服务器没有接受 {count} 项修改，本机已撤销这些修改。点状态栏中的“详情…”查看原因。</translation>
    </message>
    <message>
        <source>{count} records are no longer shared with you and were removed.</source>
        <translation>有 {count} 条记录不再与您共享，已从这台电脑上移除。</translation>
    </message>
    <message>
        <source>(untitled)</source>
        <translation>（无标题）</translation>
    </message>
    <message>
        <source>Signed out. Your records stay on this computer.</source>
        <translation>已退出登录。您的记录仍保留在这台电脑上。</translation>
    </message>
    <message>
        <source>Not synced yet.</source>
        <translation>尚未同步。</translation>
    </message>
    <message>
        <source>Last synced: {when}</source>
        <translation>上次同步：{when}</translation>
    </message>
    <message>
        <source>Sync: not set up</source>
        <translation>同步：未设置</translation>
    </message>
    <message>
        <source>Sign in to a Fieldbook server to back up and share your records (menu Sync).</source>
        <translation>登录田野手册服务器，即可备份和共享您的记录（“同步”菜单）。</translation>
    </message>
    <message>
        <source>Sync: signed out</source>
        <translation>同步：已退出登录</translation>
    </message>
    <message>
        <source>Sign in to sync your records (menu Sync).</source>
        <translation>登录后即可同步您的记录（“同步”菜单）。</translation>
    </message>
    <message>
        <source>Signing out…</source>
        <translation>正在退出登录…</translation>
    </message>
    <message>
        <source>The server did not accept the user name or password.</source>
        <translation>服务器没有接受用户名或密码。</translation>
    </message>
    <message>
        <source>The sign-in has expired or was ended on the server.</source>
        <translation>登录已过期，或已在服务器上被结束。</translation>
    </message>
    <message>
        <source>Please sign in again</source>
        <translation>请重新登录</translation>
    </message>
    <message>
        <source>Your changes are kept on this computer.</source>
        <translation>您的修改保留在这台电脑上。</translation>
    </message>
    <message>
        <source>Please update Fieldbook</source>
        <translation>请更新田野手册</translation>
    </message>
    <message>
        <source>The server no longer accepts this version of Fieldbook. Your changes are kept on this computer; install the latest Fieldbook to sync them.</source>
        <translation>服务器已不再支持这个版本的田野手册。您的修改保留在这台电脑上；安装最新版田野手册后即可同步。</translation>
    </message>
    <message>
        <source>Sync paused: the server would remove {count} of your {total} records</source>
        <translation>同步已暂停：服务器将删除您 {total} 条记录中的 {count} 条</translation>
    </message>
    <message>
        <source>Nothing was removed. Check that you are connected to the right server, then choose Sync now to be asked again.</source>
        <translation>没有删除任何记录。请确认连接的服务器是否正确，然后选择“立即同步”，系统会再次询问您。</translation>
    </message>
    <message>
        <source>Offline — {waiting}</source>
        <translation>离线 — {waiting}</translation>
    </message>
    <message>
        <source>Offline</source>
        <translation>离线</translation>
    </message>
    <message>
        <source>Details: {details}</source>
        <translation>详细信息：{details}</translation>
    </message>
    <message>
        <source>Sync failed: {reason}</source>
        <translation>同步失败：{reason}</translation>
    </message>
    <message>
        <source>Sync stopped</source>
        <translation>同步已停止</translation>
    </message>
    <message>
        <source>It will continue where it stopped next time.</source>
        <translation>下次会从停止的地方继续。</translation>
    </message>
    <message>
        <source>Sync: not synced yet</source>
        <translation>同步：尚未同步</translation>
    </message>
    <message>
        <source>{synced} · {waiting}</source>
        <translation>{synced} · {waiting}</translation>
    </message>
    <message>
        <source>{synced} · {refused}</source>
        <translation>{synced} · {refused}</translation>
    </message>
    <message>
        <source>Sent {sent} changes and received {received} records.</source>
        <translation>发送了 {sent} 项修改，收到了 {received} 条记录。</translation>
    </message>
    <message>
        <source>The records were put back as the server has them; “Details…” says why.</source>
        <translation>这些记录已恢复为服务器上的版本；点“详情…”查看原因。</translation>
    </message>
    <message>
        <source>Sync is waiting for your answer</source>
        <translation>同步正在等待您的回答</translation>
    </message>
    <message>
        <source>Syncing…</source>
        <translation>正在同步…</translation>
    </message>
    <message>
        <source>Sent {sent} KB, received {received} KB</source>
        <translation>已发送 {sent} KB，已接收 {received} KB</translation>
    </message>
    <message>
        <source>Syncing… sending</source>
        <translation>正在同步… 正在发送</translation>
    </message>
    <message>
        <source>Syncing… {percent}% — sending {done} of {total} changes</source>
        <translation>正在同步… {percent}% — 正在发送第 {done}/{total} 项修改</translation>
    </message>
    <message>
        <source>Syncing… receiving</source>
        <translation>正在同步… 正在接收</translation>
    </message>
    <message>
        <source>Syncing… receiving — {count} records so far</source>
        <translation>正在同步… 正在接收 — 已收到 {count} 条记录</translation>
    </message>
</context>
<context>
    <name>SyncRefusal</name>
    <message>
        <source>You cannot change this record: it belongs to someone else.</source>
        <translation>您不能修改这条记录：它属于别人。</translation>
    </message>
    <message>
        <source>refused by the server</source>
        <translation>被服务器拒绝</translation>
    </message>
    <message>
        <source>You cannot change this template: it belongs to someone else.</source>
        <translation>不能修改这个模板：它属于别人。</translation>
    </message>
    <message>
        <source>Only a trainer shares templates, with the cohorts they train.</source>
        <translation>只有培训师可以把模板共享给所培训的期次。</translation>
    </message>
    <message>
        <source>A template is not submitted for review.</source>
        <translation>模板不能提交审阅。</translation>
    </message>
</context>
<context>
    <name>SyncUi</name>
    <message>
        <source>S&amp;ync</source>
        <translation>同步(&amp;Y)</translation>
    </message>
    <message>
        <source>Sync &amp;now</source>
        <translation>立即同步(&amp;N)</translation>
    </message>
    <message>
        <source>Send your changes and receive others&apos; now ({key})</source>
        <translation>立即发送您的修改并接收其他人的修改（{key}）</translation>
    </message>
    <message>
        <source>Sign &amp;in…</source>
        <translation>登录(&amp;I)…</translation>
    </message>
    <message>
        <source>Sign &amp;out</source>
        <translation>退出登录(&amp;O)</translation>
    </message>
    <message>
        <source>1 conflict</source>
        <translation>1 处冲突</translation>
    </message>
    <message>
        <source>{count} conflicts</source>
        <translation>{count} 处冲突</translation>
    </message>
    <message>
        <source>The same field of a record was changed on two computers at the same time. Click to open the record and choose which value to keep.</source>
        <translation>同一条记录的同一个字段同时在两台电脑上被修改了。点击打开这条记录，选择要保留哪个值。</translation>
    </message>
</context>
<context>
    <name>Template</name>
    <message>
        <source>New lesson</source>
        <translation>新授课</translation>
    </message>
    <message>
        <source>Teach new content: review, introduce, explore, practise, sum up.</source>
        <translation>讲授新内容：复习导入、新知探究、巩固练习、课堂小结。</translation>
    </message>
    <message>
        <source>Review lesson</source>
        <translation>复习课</translation>
    </message>
    <message>
        <source>Go over a unit: sort the knowledge, practise, correct common mistakes.</source>
        <translation>单元复习：梳理知识、分层练习、纠正易错点。</translation>
    </message>
    <message>
        <source>Experiment lesson</source>
        <translation>实验课</translation>
    </message>
    <message>
        <source>Ask a question, guess, plan and run an experiment, discuss the results.</source>
        <translation>提出问题、猜想、设计并动手实验、交流结论。</translation>
    </message>
    <message>
        <source>Reading lesson</source>
        <translation>阅读课</translation>
    </message>
    <message>
        <source>Read a text: first reading, close reading, discussion, extension.</source>
        <translation>阅读课文：初读感知、精读品味、交流、拓展延伸。</translation>
    </message>
    <message>
        <source>Comprehensive practice activity</source>
        <translation>综合实践活动</translation>
    </message>
    <message>
        <source>A hands-on activity: choose a topic, plan, act in groups, present.</source>
        <translation>实践活动：确定主题、制定方案、分组实践、展示评价。</translation>
    </message>
    <message>
        <source>English lesson</source>
        <translation>英语课</translation>
    </message>
    <message>
        <source>Warming-up, presentation, practice, production, summary, homework.</source>
        <translation>热身、呈现、操练、运用、小结、作业（Warming-up / Presentation / Practice / Production / Summary / Homework）。</translation>
    </message>
</context>
<context>
    <name>TemplateActions</name>
    <message>
        <source>Save as &amp;template…</source>
        <translation>另存为模板(&amp;T)…</translation>
    </message>
    <message>
        <source>Keep this lesson plan&apos;s structure as a template for new plans</source>
        <translation>把这份教案的结构存为模板，用来写新教案</translation>
    </message>
    <message>
        <source>“{title}” is a template: choose it under New.</source>
        <translation>“{title}”是模板：请在“新建”中选用。</translation>
    </message>
    <message>
        <source>{what}: {error}</source>
        <translation>{what}：{error}</translation>
    </message>
    <message>
        <source>Could not read your templates: {error}</source>
        <translation>无法读取您的模板：{error}</translation>
    </message>
    <message>
        <source>Could not make the lesson plan</source>
        <translation>无法新建教案</translation>
    </message>
    <message>
        <source>New lesson plan from the template: type its title.</source>
        <translation>已按模板新建教案：请输入课题。</translation>
    </message>
    <message>
        <source>Shared with your cohorts at the next sync.</source>
        <translation>下次同步时共享给您培训的期次。</translation>
    </message>
    <message>
        <source>No longer shared: it leaves your fellows&apos; lists at their next sync.</source>
        <translation>已取消共享：学员下次同步后就看不到了。</translation>
    </message>
    <message>
        <source>Could not change the template</source>
        <translation>无法修改模板</translation>
    </message>
    <message>
        <source>Deleted the template “{name}”.</source>
        <translation>已删除模板“{name}”。</translation>
    </message>
    <message>
        <source>Could not delete the template</source>
        <translation>无法删除模板</translation>
    </message>
    <message>
        <source>Open a lesson plan to save it as a template.</source>
        <translation>请先打开一份教案，再另存为模板。</translation>
    </message>
    <message>
        <source>Saved the template “{name}”: New offers it.</source>
        <translation>已保存模板“{name}”：新建时可以选用。</translation>
    </message>
    <message>
        <source>Could not save the template</source>
        <translation>无法保存模板</translation>
    </message>
</context>
<context>
    <name>TemplateChooser</name>
    <message>
        <source>Blank lesson plan</source>
        <translation>空白教案</translation>
    </message>
    <message>
        <source>Built-in templates</source>
        <translation>内置模板</translation>
    </message>
    <message>
        <source>My templates</source>
        <translation>我的模板</translation>
    </message>
    <message>
        <source>No templates of your own yet. Open a lesson plan and choose File → Save as template… to reuse its structure.</source>
        <translation>还没有您自己的模板。打开一份教案，选择“文件 → 另存为模板…”，就能重复使用它的结构。</translation>
    </message>
    <message>
        <source> (shared)</source>
        <translation>（已共享）</translation>
    </message>
    <message>
        <source>Shared with me</source>
        <translation>共享给我的</translation>
    </message>
    <message>
        <source>No templates shared with you yet: your trainer can share theirs.</source>
        <translation>还没有共享给您的模板：培训师可以共享他们的模板。</translation>
    </message>
    <message>
        <source>{name} (by {author})</source>
        <translation>{name}（{author}）</translation>
    </message>
    <message>
        <source>An empty lesson plan.</source>
        <translation>一份空白教案。</translation>
    </message>
    <message>
        <source>Shared by {author}. You can make lesson plans from it, not change it.</source>
        <translation>由{author}共享。可以用它新建教案，但不能修改它。</translation>
    </message>
    <message>
        <source>{phase} · {minutes} min</source>
        <translation>{phase} · {minutes} 分钟</translation>
    </message>
    <message>
        <source>Total: {minutes} min</source>
        <translation>合计：{minutes} 分钟</translation>
    </message>
    <message>
        <source>New lesson plan</source>
        <translation>新建教案</translation>
    </message>
    <message>
        <source>Start from a blank plan or a template. Arrow keys choose, Enter creates the plan.</source>
        <translation>从空白教案或模板开始。用方向键选择，按回车新建。</translation>
    </message>
    <message>
        <source>Templates</source>
        <translation>模板</translation>
    </message>
    <message>
        <source>What the template fills in</source>
        <translation>模板会填入的内容</translation>
    </message>
    <message>
        <source>&amp;Share with the cohorts I train</source>
        <translation>与我培训的期次共享(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Delete template</source>
        <translation>删除模板(&amp;D)</translation>
    </message>
    <message>
        <source>&amp;Create</source>
        <translation>新建(&amp;C)</translation>
    </message>
</context>
<context>
    <name>TransferController</name>
    <message>
        <source>it is not on the server yet; it will be there after its author syncs</source>
        <translation>文件还不在服务器上；作者同步后即可下载</translation>
    </message>
    <message>
        <source>it was damaged on the way; please try again</source>
        <translation>文件在传输中损坏，请重试</translation>
    </message>
    <message>
        <source>Uploads paused: {reason}</source>
        <translation>上传已暂停：{reason}</translation>
    </message>
    <message>
        <source>Uploading files…</source>
        <translation>正在上传文件…</translation>
    </message>
    <message>
        <source>Downloading files…</source>
        <translation>正在下载文件…</translation>
    </message>
    <message>
        <source>Uploading 1 file: {progress}</source>
        <translation>正在上传 1 个文件：{progress}</translation>
    </message>
    <message>
        <source>Uploading {count} files: {progress}</source>
        <translation>正在上传 {count} 个文件：{progress}</translation>
    </message>
    <message>
        <source>Downloading 1 file: {progress}</source>
        <translation>正在下载 1 个文件：{progress}</translation>
    </message>
    <message>
        <source>Downloading {count} files: {progress}</source>
        <translation>正在下载 {count} 个文件：{progress}</translation>
    </message>
</context>
<context>
    <name>TypedDateEdit</name>
    <message>
        <source>“{text}” is not a date. Type it like 2026-07-20, 2026/7/20 or 2026年7月20日.</source>
        <translation>“{text}”不是日期。请写成 2026-07-20、2026/7/20 或 2026年7月20日 这样的格式。</translation>
    </message>
</context>
<context>
    <name>Validation</name>
    <message>
        <source>Must be text.</source>
        <translation>必须是文字。</translation>
    </message>
    <message>
        <source>Contains characters that are not allowed.</source>
        <translation>包含不允许的字符。</translation>
    </message>
    <message>
        <source>At most {max} characters (now {count}).</source>
        <translation>最多 {max} 个字（当前 {count} 个）。</translation>
    </message>
    <message>
        <source>Must be a number.</source>
        <translation>必须是数字。</translation>
    </message>
    <message>
        <source>Must be a whole number.</source>
        <translation>必须是整数。</translation>
    </message>
    <message>
        <source>Must be at least {min}.</source>
        <translation>不能小于 {min}。</translation>
    </message>
    <message>
        <source>Must be at most {max}.</source>
        <translation>不能大于 {max}。</translation>
    </message>
    <message>
        <source>Not a valid date (YYYY-MM-DD).</source>
        <translation>日期无效（格式：年-月-日）。</translation>
    </message>
    <message>
        <source>The year must be between {low} and {high}.</source>
        <translation>年份必须在 {low} 到 {high} 之间。</translation>
    </message>
    <message>
        <source>Not one of the allowed choices.</source>
        <translation>不是可选的选项。</translation>
    </message>
    <message>
        <source>Must be a list of steps.</source>
        <translation>必须是环节列表。</translation>
    </message>
    <message>
        <source>At most {max} steps.</source>
        <translation>最多 {max} 个环节。</translation>
    </message>
    <message>
        <source>Step minutes must be a whole number from 0 to 600.</source>
        <translation>环节分钟数必须是 0 到 600 之间的整数。</translation>
    </message>
    <message>
        <source>A step&apos;s text is longer than {max} characters.</source>
        <translation>环节文字超过 {max} 个字。</translation>
    </message>
    <message>
        <source>Must be a list of tags.</source>
        <translation>必须是标签列表。</translation>
    </message>
    <message>
        <source>Each tag at most {max} characters.</source>
        <translation>每个标签最多 {max} 个字。</translation>
    </message>
    <message>
        <source>At most {max} tags.</source>
        <translation>最多 {max} 个标签。</translation>
    </message>
    <message>
        <source>Must be a list of attachments.</source>
        <translation>必须是附件列表。</translation>
    </message>
    <message>
        <source>An attachment has no valid SHA-256.</source>
        <translation>有一个附件没有有效的 SHA-256。</translation>
    </message>
    <message>
        <source>An attachment&apos;s name must have 1 to {max} characters.</source>
        <translation>附件名称须为 1 到 {max} 个字符。</translation>
    </message>
    <message>
        <source>An attachment&apos;s size must be above zero.</source>
        <translation>附件大小必须大于零。</translation>
    </message>
    <message>
        <source>An attachment&apos;s file type is not accepted.</source>
        <translation>不接受该附件的文件类型。</translation>
    </message>
    <message>
        <source>Must be yes or no.</source>
        <translation>必须是“是”或“否”。</translation>
    </message>
    <message>
        <source>The end date is before the start date.</source>
        <translation>结束日期早于开始日期。</translation>
    </message>
    <message>
        <source>The steps add up to {total} min, the lesson lasts {duration} min.</source>
        <translation>各环节合计 {total} 分钟，而课时为 {duration} 分钟。</translation>
    </message>
    <message>
        <source>Required.</source>
        <translation>必填。</translation>
    </message>
    <message>
        <source>Unknown field.</source>
        <translation>未知字段。</translation>
    </message>
    <message>
        <source>Only the author can submit or take back this record.</source>
        <translation>只有作者可以提交或撤回这条记录。</translation>
    </message>
    <message>
        <source>A record that is {status} cannot be changed this way.</source>
        <translation>状态为“{status}”的记录不能这样修改。</translation>
    </message>
    <message>
        <source>Write a comment.</source>
        <translation>请填写评论。</translation>
    </message>
    <message>
        <source>At most {max} characters.</source>
        <translation>最多 {max} 个字符。</translation>
    </message>
    <message>
        <source>Unknown decision {action}.</source>
        <translation>未知的审阅决定：{action}。</translation>
    </message>
    <message>
        <source>You cannot review your own record.</source>
        <translation>不能审阅自己的记录。</translation>
    </message>
    <message>
        <source>Only a submitted record can be approved or returned.</source>
        <translation>只有已提交的记录才能通过或退回。</translation>
    </message>
    <message>
        <source>Your decision on this record is waiting to be sent.</source>
        <translation>您对这条记录的审阅决定正在等待发送。</translation>
    </message>
    <message>
        <source>The file {name} cannot be read.</source>
        <translation>无法读取文件 {name}。</translation>
    </message>
    <message>
        <source>The file {name} is empty.</source>
        <translation>文件 {name} 是空的。</translation>
    </message>
    <message>
        <source>The file {name} is larger than {max} MB.</source>
        <translation>文件 {name} 超过 {max} MB。</translation>
    </message>
    <message>
        <source>Files like {name} cannot be attached (photos, PDF and Word, PowerPoint or Excel files can).</source>
        <translation>{name} 这类文件不能作为附件（可以添加照片、PDF 以及 Word、PowerPoint、Excel 文件）。</translation>
    </message>
    <message>
        <source>The file {name} is not what its name says (its content is not a {type} file).</source>
        <translation>文件 {name} 与其名称不符（内容不是 {type} 文件）。</translation>
    </message>
    <message>
        <source>At most {max} attachments.</source>
        <translation>最多 {max} 个附件。</translation>
    </message>
    <message>
        <source>This record belongs to someone else: you can read it, but not change or delete it.</source>
        <translation>这条记录属于别人：您可以查看，但不能修改或删除。</translation>
    </message>
    <message>
        <source>Only a lesson plan can be saved as a template.</source>
        <translation>只有教案可以另存为模板。</translation>
    </message>
    <message>
        <source>Give the template a name.</source>
        <translation>请给模板起个名字。</translation>
    </message>
</context>
<context>
    <name>WelcomePage</name>
    <message>
        <source>Welcome to Fieldbook</source>
        <translation>欢迎使用田野手册</translation>
    </message>
    <message>
        <source>Keep your lesson plans, training records and peer exchanges in one place. Everything is saved on this computer as you type, with or without the internet.</source>
        <translation>把教案、培训记录和交流记录放在一处。所有内容在输入时就保存在这台电脑上，有没有网络都可以用。</translation>
    </message>
    <message>
        <source>&amp;Your name:</source>
        <translation>您的姓名(&amp;Y)：</translation>
    </message>
    <message>
        <source>e.g. 王芳</source>
        <translation>例如：王芳</translation>
    </message>
    <message>
        <source>Your name</source>
        <translation>您的姓名</translation>
    </message>
    <message>
        <source>Written on your records; you can change it in Preferences.</source>
        <translation>会写在您的记录上；以后可以在“设置”中修改。</translation>
    </message>
    <message>
        <source>Write your first lesson plan</source>
        <translation>写第一份教案</translation>
    </message>
    <message>
        <source>Sign in to your programme&apos;s server</source>
        <translation>登录到项目服务器</translation>
    </message>
    <message>
        <source>The server address is given by your programme staff, for example {example}. Signing in sends your records to your trainer and keeps a copy safe; you can also do it later from the Sync menu.</source>
        <translation>服务器地址由项目工作人员提供，例如 {example}。登录后，您的记录会发送给培训师，并在服务器上安全保存一份副本；也可以以后在“同步”菜单中登录。</translation>
    </message>
</context>
<context>
    <name>WordImport</name>
    <message>
        <source>Import from Word</source>
        <translation>从 Word 导入</translation>
    </message>
    <message>
        <source>Word documents (*.docx *.doc)</source>
        <translation>Word 文档 (*.docx *.doc)</translation>
    </message>
    <message>
        <source>Reading {count} files…</source>
        <translation>正在读取 {count} 个文件…</translation>
    </message>
    <message>
        <source>Import from Word failed: {error}</source>
        <translation>从 Word 导入失败：{error}</translation>
    </message>
</context>
<context>
    <name>_PagedModel</name>
    <message>
        <source>Could not read the records: {error}</source>
        <translation>无法读取记录：{error}</translation>
    </message>
    <message>
        <source>{text}
New review comments</source>
        <translation>{text}
有新的审阅意见</translation>
    </message>
    <message>
        <source>(untitled)</source>
        <translation>（无标题）</translation>
    </message>
</context>
</TS>
